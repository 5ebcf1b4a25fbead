"""Build step only (metadata lives in pyproject.toml): the wheel carries a copy of the top-level
`schema.sql`, which stays the single source that `tvms migrate` applies."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SCHEMA = Path(__file__).resolve().parent / "schema.sql"


class BuildWithSchema(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "tvms" / "schema.sql"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(SCHEMA), str(target))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib) / "tvms" / "schema.sql")]


setup(cmdclass={"build_py": BuildWithSchema})
