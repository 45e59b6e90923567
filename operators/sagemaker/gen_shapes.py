"""Writes src/shapes.txt: the request shapes of the SageMaker calls whose request the operators
take as a boto3 dict (CreateTrainingJob's `config` and the like), from the botocore service
model boto3 validates those dicts against. Run it with any Python that has botocore (the local
endpoint's venv has it): `.venv-aws/bin/python operators/sagemaker/gen_shapes.py`.

One line per structure: `Name Member:type Member!:type ...` (`!` marks a required member).
Types: `s` string, `i` integer, `l` long, `f` float/double, `b` boolean, `t` timestamp, `[T]`
list of T, `{T}` map of strings to T, else the name of another structure.
"""

import gzip
import json
import os
import pathlib

import botocore

OPERATIONS = [
    "CreateTrainingJob",
    "CreateProcessingJob",
    "CreateTransformJob",
    "CreateHyperParameterTuningJob",
    "CreateModel",
    "CreateEndpointConfig",
    "CreateEndpoint",
    "UpdateEndpoint",
    "CreateAutoMLJob",
    "CreateModelPackage",
    "CreateNotebookInstance",
]

PRIMITIVES = {
    "string": "s",
    "integer": "i",
    "long": "l",
    "float": "f",
    "double": "f",
    "boolean": "b",
    "timestamp": "t",
    "blob": "s",
}


def main() -> None:
    root = pathlib.Path(botocore.__file__).parent / "data" / "sagemaker"
    version = sorted(os.listdir(root))[-1]
    model = json.load(gzip.open(root / version / "service-2.json.gz"))
    shapes = model["shapes"]
    out: dict[str, str] = {}

    def ty(name: str) -> str:
        s = shapes[name]
        if s["type"] in PRIMITIVES:
            return PRIMITIVES[s["type"]]
        if s["type"] == "list":
            return "[" + ty(s["member"]["shape"]) + "]"
        if s["type"] == "map":
            return "{" + ty(s["value"]["shape"]) + "}"
        struct(name)
        return name

    def struct(name: str) -> None:
        if name in out:
            return
        out[name] = ""
        s = shapes[name]
        required = set(s.get("required", []))
        members = []
        for key, m in s["members"].items():
            members.append(f"{key}{'!' if key in required else ''}:{ty(m['shape'])}")
        out[name] = " ".join([name, *members])

    lines = [f"# botocore sagemaker {version}: the request shapes of {', '.join(OPERATIONS)}"]
    for op in OPERATIONS:
        name = model["operations"][op]["input"]["shape"]
        struct(name)
        lines.append(f"@{op} {name}")
    lines.extend(out[n] for n in sorted(out))
    here = pathlib.Path(__file__).parent / "src" / "shapes.txt"
    here.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
