"""The JSON-RPC 2.0 conformance vectors and the `tvms conformance URL` runner."""

from tvms.conformance.runner import Result, check_vector, main, register, run
from tvms.conformance.schema import response_problems
from tvms.conformance.vectors import VECTORS, Reply, Vector

__all__ = [
    "VECTORS",
    "Reply",
    "Result",
    "Vector",
    "check_vector",
    "main",
    "register",
    "response_problems",
    "run",
]
