"""Redshift Data API statements: the finish, failure, batch and session paths stock moto 5.2.5 lacks.

What stock moto does (../shared/reference/local-aws-families.md):
- ExecuteStatement makes a statement that is STARTED forever (nothing ever finishes it), so no
  operator that waits can succeed; FAILED never happens and DescribeStatement has no `Error`;
- BatchExecuteStatement answers 500 (not implemented); SessionKeepAliveSeconds / SessionId are
  ignored (no SessionId is ever returned);
- CancelStatement of a STARTED statement makes it ABORTED (kept here).

What this patch changes (each an AWS path, selected by the SQL text):
- a statement answers STARTED to its first DescribeStatement and FINISHED from then on, with
  HasResultSet and ResultRows 3 (the 3 rows stock moto's GetStatementResult always returns);
- SQL containing `moto:FAILED` makes the statement FAILED with `Error` "moto: statement failed
  (moto:FAILED in the SQL)"; SQL containing `moto:RUNNING` keeps it STARTED until cancelled;
- BatchExecuteStatement runs `Sqls` as one statement whose SubStatements (ids `<id>:1`,
  `<id>:2`, ...) follow the parent's status; DescribeStatement and GetStatementResult accept a
  sub-statement id;
- ExecuteStatement / BatchExecuteStatement with SessionKeepAliveSeconds answer a new SessionId
  (a UUID4); with SessionId (and no cluster or workgroup) they run in that session, whose
  cluster / workgroup and database they take; an unknown session is a ValidationException;
- the statement records WorkgroupName and answers it in DescribeStatement;
- timestamps (CreatedAt, UpdatedAt) are answered as epoch seconds, ColumnMetadata.nullable as
  a number and the row count as TotalNumRows (stock moto says TotalNumberRows), as the API's JSON protocol has them (stock moto's ISO strings and booleans cannot be
  read by the AWS SDKs).
Statements whose SQL has no marker finish as described above; nothing else changes.

Tests that need it: tests/redshift.rs (RedshiftDataOperator success with statement ids and SQL
results, FAILED with its Error, SIGTERM -> on_kill -> CancelStatement -> ABORTED, batches and
sessions of the corpus workflow example_redshift).
"""

import json
from datetime import datetime

from moto.moto_api._internal import mock_random as random
from moto.redshiftdata.exceptions import ValidationException
from moto.redshiftdata.models import RedshiftDataAPIServiceBackend, Statement
from moto.redshiftdata.responses import RedshiftDataAPIServiceResponse

_FAILED_ERROR = "moto: statement failed (moto:FAILED in the SQL)"

_stock_describe = RedshiftDataAPIServiceBackend.describe_statement
_stock_result = RedshiftDataAPIServiceBackend.get_statement_result
_stock_iter = Statement.__iter__

# Sessions: SessionId -> (cluster identifier, workgroup name, database, db user, secret arn).
_SESSIONS: dict = {}


def _status_get(self: Statement) -> str:
    own = self.__dict__.get("_own_status", "STARTED")
    if own != "STARTED":
        return own
    sql = self.query_string or ""
    if "moto:FAILED" in sql:
        return "FAILED"
    if "moto:RUNNING" in sql:
        return "STARTED"
    return "FINISHED" if self.__dict__.get("_reads", 0) > 1 else "STARTED"


def _status_set(self: Statement, value: str) -> None:
    self.__dict__["_own_status"] = value


def _epoch(value):
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return value
    return value


def _iter(self: Statement):
    status = self.status
    for key, value in _stock_iter(self):
        if key in ("CreatedAt", "UpdatedAt"):
            value = _epoch(value)
        elif key == "HasResultSet":
            value = status == "FINISHED"
        elif key == "ResultRows":
            value = 3 if status == "FINISHED" else -1
        elif key == "SubStatements":
            value = [
                {
                    "Id": f"{self.id}:{i}",
                    "QueryString": sql,
                    "Status": "SUBMITTED" if status == "STARTED" else status,
                    "HasResultSet": status == "FINISHED",
                    "ResultRows": 3 if status == "FINISHED" else -1,
                    "CreatedAt": _epoch(self.created_at),
                    "UpdatedAt": _epoch(self.updated_at),
                }
                for i, sql in enumerate(self.__dict__.get("_sqls", []), start=1)
            ]
        yield key, value
    if status == "FAILED":
        yield "Error", _FAILED_ERROR
    if self.__dict__.get("_workgroup"):
        yield "WorkgroupName", self.__dict__["_workgroup"]
    if self.__dict__.get("_session"):
        yield "SessionId", self.__dict__["_session"]


def _parent(self: RedshiftDataAPIServiceBackend, statement_id: str) -> Statement:
    base = statement_id.split(":", 1)[0]
    if ":" in statement_id and base in self.statements:
        return self.statements[base]
    return _stock_describe(self, statement_id)


def _describe(self: RedshiftDataAPIServiceBackend, statement_id: str) -> Statement:
    statement = _parent(self, statement_id)
    statement.__dict__["_reads"] = statement.__dict__.get("_reads", 0) + 1
    return statement


def _result(self: RedshiftDataAPIServiceBackend, statement_id: str):
    statement = _parent(self, statement_id)
    return _stock_result(self, statement.id)


def _start(response: RedshiftDataAPIServiceResponse, sqls: list, batch: bool):
    """Creates the statement of an Execute / BatchExecuteStatement call and answers it."""
    backend = response.redshiftdata_backend
    cluster = response._get_param("ClusterIdentifier")
    workgroup = response._get_param("WorkgroupName")
    database = response._get_param("Database")
    db_user = response._get_param("DbUser")
    secret = response._get_param("SecretArn")
    session = response._get_param("SessionId")
    keep_alive = response._get_param("SessionKeepAliveSeconds")
    if session is not None:
        if session not in _SESSIONS:
            raise ValidationException(f"Session {session} is not found or has expired")
        cluster, workgroup, database, db_user, secret = _SESSIONS[session]
    elif keep_alive is not None:
        session = str(random.uuid4())
        _SESSIONS[session] = (cluster, workgroup, database, db_user, secret)
    statement = backend.execute_statement(
        cluster_identifier=cluster,
        database=database,
        db_user=db_user,
        parameters=response._get_param("Parameters"),
        secret_arn=secret,
        sql="; ".join(sqls) if batch else sqls[0],
    )
    if batch:
        statement.__dict__["_sqls"] = list(sqls)
    statement.__dict__["_workgroup"] = workgroup
    statement.__dict__["_session"] = session
    answer = {
        "ClusterIdentifier": cluster,
        "CreatedAt": _epoch(statement.created_at),
        "Database": database,
        "DbUser": db_user,
        "Id": statement.id,
        "SecretArn": secret,
        "WorkgroupName": workgroup,
    }
    if session is not None:
        answer["SessionId"] = session
    return 200, {}, json.dumps({k: v for k, v in answer.items() if v is not None})


def _execute_statement(self: RedshiftDataAPIServiceResponse):
    return _start(self, [self._get_param("Sql")], batch=False)


def _batch_execute_statement(self: RedshiftDataAPIServiceResponse):
    sqls = self._get_param("Sqls") or []
    if not sqls:
        raise ValidationException("Sqls must contain at least one SQL statement")
    return _start(self, sqls, batch=True)


def _get_statement_result(self: RedshiftDataAPIServiceResponse):
    result = self.redshiftdata_backend.get_statement_result(
        statement_id=self._get_param("Id")
    )
    body = dict(result)
    body["TotalNumRows"] = body.pop("TotalNumberRows", 0)
    for column in body.get("ColumnMetadata") or []:
        column["nullable"] = int(bool(column.get("nullable")))
    return 200, {}, json.dumps({k: v for k, v in body.items() if v is not None})


def apply() -> None:
    """Installs the Redshift Data paths described above."""
    Statement.status = property(_status_get, _status_set)
    Statement.__iter__ = _iter
    RedshiftDataAPIServiceBackend.describe_statement = _describe
    RedshiftDataAPIServiceBackend.get_statement_result = _result
    RedshiftDataAPIServiceResponse.execute_statement = _execute_statement
    RedshiftDataAPIServiceResponse.batch_execute_statement = _batch_execute_statement
    RedshiftDataAPIServiceResponse.get_statement_result = _get_statement_result
