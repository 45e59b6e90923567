"""Writes the request shapes of some AWS operations, as botocore models them, to a JSON file that
an operator crate embeds (operators/ecs/src/shapes.json, operators/batch/src/shapes.json).

The ECS and Batch operators pass their boto3-style keyword arguments (`overrides`,
`container_definitions`, `container_overrides`, `compute_resources`, ...) to AWS as boto3 does:
the request body is the arguments' JSON. Before that, airtask checks them as botocore's parameter
validation does (unknown keys, missing required keys, types), against these shapes, so that
`airtask validate` refuses a typo before AWS is called.

Run it with the botocore of the local AWS endpoint's venv (scripts/aws-endpoint.sh install):

    .venv-aws/bin/python operators/ecs/gen_shapes.py ecs operators/ecs/src/shapes.json \
        CreateCluster RegisterTaskDefinition RunTask
    .venv-aws/bin/python operators/ecs/gen_shapes.py batch operators/batch/src/shapes.json \
        SubmitJob CreateComputeEnvironment

The output maps each shape reachable from the operations' inputs to one of:
- "string", "integer", "long", "double", "float", "boolean", "timestamp", "blob";
- {"list": MEMBER}, {"map": VALUE} (keys are strings);
- {"members": {NAME: SHAPE, ...}, "required": [NAME, ...]} for a structure;
plus "operations": {OPERATION: INPUT_SHAPE}. Documentation and constraints are left out.
"""

import gzip
import json
import os
import sys

import botocore


def main() -> None:
    service, out, *operations = sys.argv[1:]
    data = os.path.join(os.path.dirname(botocore.__file__), "data", service)
    version = sorted(os.listdir(data))[-1]
    path = os.path.join(data, version, "service-2.json")
    opener = gzip.open if not os.path.exists(path) else open
    with opener(path if os.path.exists(path) else path + ".gz", "rt", encoding="utf-8") as f:
        model = json.load(f)
    shapes = model["shapes"]
    result: dict = {}

    def walk(name: str) -> None:
        if name in result:
            return
        shape = shapes[name]
        kind = shape["type"]
        if kind == "structure":
            result[name] = {}
            result[name] = {
                "members": {k: v["shape"] for k, v in shape.get("members", {}).items()},
                "required": shape.get("required", []),
            }
            for member in shape.get("members", {}).values():
                walk(member["shape"])
        elif kind == "list":
            result[name] = {"list": shape["member"]["shape"]}
            walk(shape["member"]["shape"])
        elif kind == "map":
            result[name] = {"map": shape["value"]["shape"]}
            walk(shape["value"]["shape"])
        else:
            result[name] = kind

    ops = {}
    for op in operations:
        input_shape = model["operations"][op]["input"]["shape"]
        ops[op] = input_shape
        walk(input_shape)
    text = json.dumps(
        {
            "source": f"botocore {botocore.__version__} {service} {version}",
            "operations": ops,
            "shapes": dict(sorted(result.items())),
        },
        indent=0,
        sort_keys=False,
    )
    with open(out, "w", encoding="utf-8") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
