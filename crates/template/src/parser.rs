//! Jinja2's parser: tokens -> [`Node`]s, with Jinja2's operator precedence and its error
//! messages for the mistakes users make.

use crate::ast::{Expr, Node, Target};
use crate::error::Error;
use crate::lexer::{Tok, Token, tokenize};
use crate::value::Value;

/// Parses a whole template.
pub(crate) fn parse(source: &str) -> Result<Vec<Node>, Error> {
    let toks = tokenize(source)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let body = p.body(&[], None)?;
    Ok(body)
}

/// Positional and keyword arguments of a call.
type CallArgs = (Vec<Expr>, Vec<(String, Expr)>);

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// How deep the parser is in nested expressions and blocks (bounded: a template of 2,000
    /// nested brackets is a `RecursionError`, as in Jinja, never a stack overflow).
    depth: usize,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Text(_) => "template data".into(),
        Tok::VarStart => "begin of print statement".into(),
        Tok::VarEnd => "end of print statement".into(),
        Tok::BlockStart => "begin of statement block".into(),
        Tok::BlockEnd => "end of statement block".into(),
        Tok::Name(n) => n.clone(),
        Tok::Str(_) => "string".into(),
        Tok::Int(_) => "integer".into(),
        Tok::Float(_) => "float".into(),
        Tok::Op(o) => (*o).to_owned(),
        Tok::Eof => "end of template".into(),
    }
}

const KEYWORDS_ENDING_EXPR: &[&str] = &["else", "or", "and", "if", "in", "is", "not", "recursive"];

impl Parser {
    /// Runs `f` one nesting level deeper.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Parser) -> Result<T, Error>) -> Result<T, Error> {
        if self.depth >= crate::error::MAX_NESTING {
            return Err(Error::recursion(&format!(
                "while parsing: more than {} nested brackets, operators or blocks",
                crate::error::MAX_NESTING
            ))
            .with_line(self.line()));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        let i = (self.pos + n).min(self.toks.len() - 1);
        &self.toks[i].tok
    }

    fn line(&self) -> usize {
        self.toks[self.pos].line
    }

    fn next(&mut self) -> Tok {
        let t = self.toks[self.pos].tok.clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn fail<T>(&self, msg: impl Into<String>) -> Result<T, Error> {
        Err(Error::syntax(msg, self.line()))
    }

    fn unexpected<T>(&self) -> Result<T, Error> {
        self.fail(format!("unexpected '{}'", describe(self.peek())))
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn is_name(&self, name: &str) -> bool {
        matches!(self.peek(), Tok::Name(n) if n == name)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if self.is_op(op) {
            self.next();
            true
        } else {
            false
        }
    }

    fn eat_name(&mut self, name: &str) -> bool {
        if self.is_name(name) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_op(&mut self, op: &str) -> Result<(), Error> {
        if self.eat_op(op) {
            Ok(())
        } else {
            self.fail(format!(
                "expected token '{op}', got '{}'",
                describe(self.peek())
            ))
        }
    }

    fn expect_block_end(&mut self) -> Result<(), Error> {
        if matches!(self.peek(), Tok::BlockEnd) {
            self.next();
            Ok(())
        } else {
            self.fail(format!(
                "expected token 'end of statement block', got '{}'",
                describe(self.peek())
            ))
        }
    }

    fn name(&mut self) -> Result<String, Error> {
        match self.next() {
            Tok::Name(n) => Ok(n),
            other => self.fail(format!("expected token 'name', got '{}'", describe(&other))),
        }
    }

    /// Parses nodes until one of `end_tags` opens a block (left unconsumed) or the template
    /// ends.
    fn body(&mut self, end_tags: &[&str], innermost: Option<&str>) -> Result<Vec<Node>, Error> {
        self.nested(|p| p.body_inner(end_tags, innermost))
    }

    fn body_inner(
        &mut self,
        end_tags: &[&str],
        innermost: Option<&str>,
    ) -> Result<Vec<Node>, Error> {
        let mut nodes = Vec::new();
        loop {
            match self.peek().clone() {
                Tok::Eof => {
                    if let Some(block) = innermost {
                        let tags: Vec<String> = end_tags.iter().map(|t| format!("'{t}'")).collect();
                        return self.fail(format!(
                            "Unexpected end of template. Jinja was looking for the following tags: \
                             {}. The innermost block that needs to be closed is '{block}'.",
                            tags.join(" or ")
                        ));
                    }
                    return Ok(nodes);
                }
                Tok::Text(t) => {
                    self.next();
                    nodes.push(Node::Text(t));
                }
                Tok::VarStart => {
                    let line = self.line();
                    self.next();
                    let e = self.tuple_expr()?;
                    if !matches!(self.peek(), Tok::VarEnd) {
                        return self.unexpected();
                    }
                    self.next();
                    nodes.push(Node::Print(e, line));
                }
                Tok::BlockStart => {
                    if let Tok::Name(n) = self.peek_at(1)
                        && end_tags.contains(&n.as_str())
                    {
                        return Ok(nodes);
                    }
                    self.next();
                    nodes.push(self.statement(end_tags, innermost)?);
                }
                other => {
                    return self.fail(format!("unexpected '{}'", describe(&other)));
                }
            }
        }
    }

    /// Consumes `{% tag %}` for an end tag that `body` stopped at.
    fn end_tag(&mut self) -> Result<String, Error> {
        self.next(); // BlockStart
        let name = self.name()?;
        Ok(name)
    }

    fn statement(&mut self, outer_end: &[&str], outer: Option<&str>) -> Result<Node, Error> {
        let line = self.line();
        let tag = match self.next() {
            Tok::Name(n) => n,
            other => return self.fail(format!("tag name expected, got '{}'", describe(&other))),
        };
        match tag.as_str() {
            "if" => {
                let mut branches = Vec::new();
                let mut cond = self.tuple_expr()?;
                self.expect_block_end()?;
                loop {
                    let body = self.body(&["elif", "else", "endif"], Some("if"))?;
                    branches.push((cond, body));
                    match self.end_tag()?.as_str() {
                        "elif" => {
                            cond = self.tuple_expr()?;
                            self.expect_block_end()?;
                        }
                        "else" => {
                            self.expect_block_end()?;
                            let otherwise = self.body(&["endif"], Some("if"))?;
                            self.end_tag()?;
                            self.expect_block_end()?;
                            return Ok(Node::If {
                                branches,
                                otherwise,
                            });
                        }
                        _ => {
                            self.expect_block_end()?;
                            return Ok(Node::If {
                                branches,
                                otherwise: Vec::new(),
                            });
                        }
                    }
                }
            }
            "for" => {
                let target = self.target()?;
                if !self.eat_name("in") {
                    return self.fail(format!(
                        "expected token 'in', got '{}'",
                        describe(self.peek())
                    ));
                }
                let iter = self.tuple_expr_no_cond()?;
                let filter = if self.eat_name("if") {
                    Some(self.expr()?)
                } else {
                    None
                };
                self.eat_name("recursive");
                self.expect_block_end()?;
                let body = self.body(&["endfor", "else"], Some("for"))?;
                let otherwise = if self.end_tag()? == "else" {
                    self.expect_block_end()?;
                    let o = self.body(&["endfor"], Some("for"))?;
                    self.end_tag()?;
                    o
                } else {
                    Vec::new()
                };
                self.expect_block_end()?;
                Ok(Node::For {
                    target,
                    iter,
                    filter,
                    body,
                    otherwise,
                    line,
                })
            }
            "set" => {
                let target = self.target()?;
                if self.eat_op("=") {
                    let e = self.tuple_expr()?;
                    self.expect_block_end()?;
                    return Ok(Node::Set(target, e));
                }
                let Target::Name(name) = target else {
                    return self.fail("expected token '=', got 'end of statement block'");
                };
                self.expect_block_end()?;
                let body = self.body(&["endset"], Some("set"))?;
                self.end_tag()?;
                self.expect_block_end()?;
                Ok(Node::SetBlock(name, body))
            }
            "with" => {
                let mut assigns = Vec::new();
                while !matches!(self.peek(), Tok::BlockEnd) {
                    if !assigns.is_empty() {
                        self.expect_op(",")?;
                    }
                    let t = self.target()?;
                    self.expect_op("=")?;
                    assigns.push((t, self.expr()?));
                }
                self.expect_block_end()?;
                let body = self.body(&["endwith"], Some("with"))?;
                self.end_tag()?;
                self.expect_block_end()?;
                Ok(Node::With(assigns, body))
            }
            "do" => {
                let e = self.tuple_expr()?;
                self.expect_block_end()?;
                Ok(Node::Do(e))
            }
            "macro" => {
                let name = self.name()?;
                self.expect_op("(")?;
                let mut params = Vec::new();
                while !self.eat_op(")") {
                    if !params.is_empty() {
                        self.expect_op(",")?;
                    }
                    let p = self.name()?;
                    let default = if self.eat_op("=") {
                        Some(self.expr()?)
                    } else {
                        None
                    };
                    params.push((p, default));
                }
                self.expect_block_end()?;
                let body = self.body(&["endmacro"], Some("macro"))?;
                self.end_tag()?;
                self.expect_block_end()?;
                Ok(Node::Macro { name, params, body })
            }
            "filter" => {
                let name = self.name()?;
                let mut filter = Expr::Filter {
                    value: Box::new(Expr::Name("\u{0}body".into())),
                    name,
                    args: Vec::new(),
                    kwargs: Vec::new(),
                };
                if self.is_op("(")
                    && let Expr::Filter { args, kwargs, .. } = &mut filter
                {
                    self.next();
                    let (a, k) = self.call_args()?;
                    *args = a;
                    *kwargs = k;
                }
                while self.eat_op("|") {
                    filter = self.filter_tail(filter)?;
                }
                self.expect_block_end()?;
                let body = self.body(&["endfilter"], Some("filter"))?;
                self.end_tag()?;
                self.expect_block_end()?;
                Ok(Node::FilterBlock { filter, body })
            }
            "include" => {
                let e = self.expr()?;
                while let Tok::Name(_) = self.peek() {
                    self.next();
                }
                self.expect_block_end()?;
                Ok(Node::Include(e, line))
            }
            "extends" | "block" | "import" | "from" | "call" | "autoescape" | "trans" => self.fail(
                format!("the '{tag}' tag is not supported in a task's template fields"),
            ),
            other => {
                let mut msg = format!("Encountered unknown tag '{other}'.");
                if let Some(block) = outer {
                    let tags: Vec<String> = outer_end.iter().map(|t| format!("'{t}'")).collect();
                    msg.push_str(&format!(
                        " Jinja was looking for the following tags: {}. The innermost block that \
                         needs to be closed is '{block}'.",
                        tags.join(" or ")
                    ));
                }
                self.fail(msg)
            }
        }
    }

    fn target(&mut self) -> Result<Target, Error> {
        let mut items = vec![self.single_target()?];
        while self.eat_op(",") {
            if matches!(self.peek(), Tok::Name(n) if n == "in") || self.is_op("=") {
                break;
            }
            items.push(self.single_target()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Target::Tuple(items)
        })
    }

    fn single_target(&mut self) -> Result<Target, Error> {
        if self.eat_op("(") {
            let t = self.target()?;
            self.expect_op(")")?;
            return Ok(t);
        }
        let n = match self.peek() {
            Tok::Name(_) => self.name()?,
            other => {
                return self.fail(format!("Expected an expression, got '{}'", describe(other)));
            }
        };
        if self.eat_op(".") {
            let attr = self.name()?;
            return Ok(Target::Attr(n, attr));
        }
        Ok(Target::Name(n))
    }

    /// `a, b` (a tuple when there is a comma) — what `{{ }}` and `set` take.
    fn tuple_expr(&mut self) -> Result<Expr, Error> {
        self.tuple_with(true)
    }

    fn tuple_expr_no_cond(&mut self) -> Result<Expr, Error> {
        self.tuple_with(false)
    }

    fn tuple_with(&mut self, with_cond: bool) -> Result<Expr, Error> {
        let first = if with_cond {
            self.expr()?
        } else {
            self.or_expr()?
        };
        if !self.is_op(",") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if matches!(self.peek(), Tok::VarEnd | Tok::BlockEnd) || self.is_op(")") {
                break;
            }
            items.push(if with_cond {
                self.expr()?
            } else {
                self.or_expr()?
            });
        }
        Ok(Expr::Tuple(items))
    }

    /// A full expression, with the inline `a if b else c`.
    fn expr(&mut self) -> Result<Expr, Error> {
        let e = self.or_expr()?;
        if self.eat_name("if") {
            let cond = self.or_expr()?;
            let otherwise = if self.eat_name("else") {
                Some(Box::new(self.expr()?))
            } else {
                None
            };
            return Ok(Expr::Cond {
                cond: Box::new(cond),
                then: Box::new(e),
                otherwise,
            });
        }
        Ok(e)
    }

    fn or_expr(&mut self) -> Result<Expr, Error> {
        let mut e = self.and_expr()?;
        while self.eat_name("or") {
            e = Expr::Or(Box::new(e), Box::new(self.and_expr()?));
        }
        Ok(e)
    }

    fn and_expr(&mut self) -> Result<Expr, Error> {
        let mut e = self.not_expr()?;
        while self.eat_name("and") {
            e = Expr::And(Box::new(e), Box::new(self.not_expr()?));
        }
        Ok(e)
    }

    fn not_expr(&mut self) -> Result<Expr, Error> {
        if self.eat_name("not") {
            return Ok(Expr::Not(Box::new(self.nested(Parser::not_expr)?)));
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Expr, Error> {
        let first = self.math1()?;
        let mut ops = Vec::new();
        loop {
            let op: &'static str = match self.peek() {
                Tok::Op("==") => "==",
                Tok::Op("!=") => "!=",
                Tok::Op("<") => "<",
                Tok::Op("<=") => "<=",
                Tok::Op(">") => ">",
                Tok::Op(">=") => ">=",
                Tok::Name(n) if n == "in" => "in",
                Tok::Name(n)
                    if n == "not" && matches!(self.peek_at(1), Tok::Name(m) if m == "in") =>
                {
                    self.next();
                    "notin"
                }
                _ => break,
            };
            self.next();
            ops.push((op, self.math1()?));
        }
        Ok(if ops.is_empty() {
            first
        } else {
            Expr::Compare(Box::new(first), ops)
        })
    }

    fn math1(&mut self) -> Result<Expr, Error> {
        let mut e = self.concat()?;
        loop {
            let op = if self.is_op("+") {
                "+"
            } else if self.is_op("-") {
                "-"
            } else {
                break;
            };
            self.next();
            e = Expr::Binary(op, Box::new(e), Box::new(self.concat()?));
        }
        Ok(e)
    }

    fn concat(&mut self) -> Result<Expr, Error> {
        let mut e = self.math2()?;
        while self.eat_op("~") {
            e = Expr::Binary("~", Box::new(e), Box::new(self.math2()?));
        }
        Ok(e)
    }

    fn math2(&mut self) -> Result<Expr, Error> {
        let mut e = self.pow()?;
        loop {
            let op = match self.peek() {
                Tok::Op("*") => "*",
                Tok::Op("/") => "/",
                Tok::Op("//") => "//",
                Tok::Op("%") => "%",
                _ => break,
            };
            self.next();
            e = Expr::Binary(op, Box::new(e), Box::new(self.pow()?));
        }
        Ok(e)
    }

    fn pow(&mut self) -> Result<Expr, Error> {
        let mut e = self.unary(true)?;
        while self.eat_op("**") {
            e = Expr::Binary("**", Box::new(e), Box::new(self.unary(true)?));
        }
        Ok(e)
    }

    fn unary(&mut self, with_filter: bool) -> Result<Expr, Error> {
        self.nested(|p| p.unary_inner(with_filter))
    }

    fn unary_inner(&mut self, with_filter: bool) -> Result<Expr, Error> {
        let e = if self.eat_op("-") {
            Expr::Unary("-", Box::new(self.unary(false)?))
        } else if self.eat_op("+") {
            Expr::Unary("+", Box::new(self.unary(false)?))
        } else {
            let p = self.primary()?;
            self.postfix(p)?
        };
        if with_filter { self.filters(e) } else { Ok(e) }
    }

    fn primary(&mut self) -> Result<Expr, Error> {
        match self.peek().clone() {
            Tok::Name(n) => {
                self.next();
                Ok(match n.as_str() {
                    "true" | "True" => Expr::Const(Value::Bool(true)),
                    "false" | "False" => Expr::Const(Value::Bool(false)),
                    "none" | "None" => Expr::Const(Value::None),
                    _ => Expr::Name(n),
                })
            }
            Tok::Str(s) => {
                self.next();
                let mut s = s;
                while let Tok::Str(more) = self.peek().clone() {
                    self.next();
                    s.push_str(&more);
                }
                Ok(Expr::Const(Value::from(s)))
            }
            Tok::Int(i) => {
                self.next();
                Ok(Expr::Const(Value::Int(i)))
            }
            Tok::Float(f) => {
                self.next();
                Ok(Expr::Const(Value::Float(f)))
            }
            Tok::Op("(") => {
                self.next();
                if self.eat_op(")") {
                    return Ok(Expr::Tuple(Vec::new()));
                }
                let first = self.expr()?;
                if self.eat_op(")") {
                    return Ok(first);
                }
                let mut items = vec![first];
                while self.eat_op(",") {
                    if self.is_op(")") {
                        break;
                    }
                    items.push(self.expr()?);
                }
                self.expect_op(")")?;
                Ok(Expr::Tuple(items))
            }
            Tok::Op("[") => {
                self.next();
                let mut items = Vec::new();
                while !self.eat_op("]") {
                    if !items.is_empty() {
                        self.expect_op(",")?;
                        if self.eat_op("]") {
                            break;
                        }
                    }
                    items.push(self.expr()?);
                }
                Ok(Expr::List(items))
            }
            Tok::Op("{") => {
                self.next();
                let mut items = Vec::new();
                while !self.eat_op("}") {
                    if !items.is_empty() {
                        self.expect_op(",")?;
                        if self.eat_op("}") {
                            break;
                        }
                    }
                    let k = self.expr()?;
                    self.expect_op(":")?;
                    items.push((k, self.expr()?));
                }
                Ok(Expr::Dict(items))
            }
            _ => self.unexpected(),
        }
    }

    fn postfix(&mut self, mut e: Expr) -> Result<Expr, Error> {
        loop {
            if self.eat_op(".") {
                match self.next() {
                    Tok::Name(n) => e = Expr::Attr(Box::new(e), n),
                    Tok::Int(i) => {
                        e = Expr::Item(Box::new(e), Box::new(Expr::Const(Value::Int(i))))
                    }
                    other => {
                        return self.fail(format!(
                            "expected name or number, got '{}'",
                            describe(&other)
                        ));
                    }
                }
            } else if self.eat_op("[") {
                e = self.subscript(e)?;
            } else if self.eat_op("(") {
                let (args, kwargs) = self.call_args()?;
                e = Expr::Call {
                    func: Box::new(e),
                    args,
                    kwargs,
                };
            } else {
                return Ok(e);
            }
        }
    }

    fn subscript(&mut self, target: Expr) -> Result<Expr, Error> {
        let mut parts: Vec<Option<Box<Expr>>> = vec![None];
        let mut is_slice = false;
        loop {
            if self.eat_op("]") {
                break;
            }
            if self.eat_op(":") {
                is_slice = true;
                parts.push(None);
                continue;
            }
            let e = self.expr()?;
            if let Some(last) = parts.last_mut() {
                *last = Some(Box::new(e));
            }
            if !self.is_op(":") && !self.is_op("]") {
                if self.is_op(",") {
                    // `x[1, 2]` indexes with a tuple; rare, treat as a tuple key.
                    self.next();
                    let mut items = vec![
                        *parts
                            .pop()
                            .flatten()
                            .ok_or_else(|| Error::syntax("bad subscript", self.line()))?,
                    ];
                    while !self.is_op("]") {
                        items.push(self.expr()?);
                        if !self.eat_op(",") {
                            break;
                        }
                    }
                    self.expect_op("]")?;
                    return Ok(Expr::Item(Box::new(target), Box::new(Expr::Tuple(items))));
                }
                return self.unexpected();
            }
        }
        if !is_slice {
            let Some(Some(key)) = parts.pop() else {
                return self.fail("expected an index or a slice");
            };
            return Ok(Expr::Item(Box::new(target), key));
        }
        let mut it = parts.into_iter();
        Ok(Expr::Slice {
            target: Box::new(target),
            start: it.next().flatten(),
            stop: it.next().flatten(),
            step: it.next().flatten(),
        })
    }

    fn call_args(&mut self) -> Result<CallArgs, Error> {
        let mut args = Vec::new();
        let mut kwargs = Vec::new();
        while !self.eat_op(")") {
            if !args.is_empty() || !kwargs.is_empty() {
                self.expect_op(",")?;
                if self.eat_op(")") {
                    break;
                }
            }
            if let (Tok::Name(n), Tok::Op("=")) = (self.peek().clone(), self.peek_at(1).clone()) {
                self.next();
                self.next();
                kwargs.push((n, self.expr()?));
            } else {
                if !kwargs.is_empty() {
                    return self.fail("invalid syntax for function call expression");
                }
                args.push(self.expr()?);
            }
        }
        Ok((args, kwargs))
    }

    fn filters(&mut self, mut e: Expr) -> Result<Expr, Error> {
        loop {
            if self.eat_op("|") {
                e = self.filter_tail(e)?;
            } else if self.is_name("is") {
                self.next();
                let negated = self.eat_name("not");
                let name = self.name()?;
                let mut args = Vec::new();
                if self.is_op("(") {
                    self.next();
                    let (a, _) = self.call_args()?;
                    args = a;
                } else {
                    let starts_arg = match self.peek() {
                        Tok::Name(n) => !KEYWORDS_ENDING_EXPR.contains(&n.as_str()),
                        Tok::Str(_) | Tok::Int(_) | Tok::Float(_) => true,
                        Tok::Op(o) => matches!(*o, "[" | "{" | "("),
                        _ => false,
                    };
                    if starts_arg {
                        let p = self.primary()?;
                        args.push(self.postfix(p)?);
                    }
                }
                e = Expr::Test {
                    value: Box::new(e),
                    name,
                    args,
                    negated,
                };
            } else {
                return Ok(e);
            }
        }
    }

    fn filter_tail(&mut self, value: Expr) -> Result<Expr, Error> {
        let mut name = self.name()?;
        while self.eat_op(".") {
            name.push('.');
            name.push_str(&self.name()?);
        }
        let (args, kwargs) = if self.eat_op("(") {
            self.call_args()?
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Expr::Filter {
            value: Box::new(value),
            name,
            args,
            kwargs,
        })
    }
}
