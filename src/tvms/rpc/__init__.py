"""The typed JSON-RPC 2.0 core. It knows nothing about traffic and never imports `procedures`."""

from tvms.rpc.auth import DEVICE, PUBLIC, USER, Auth, Principal, roles
from tvms.rpc.context import Caller, Context, Resolver, Services
from tvms.rpc.credentials import Credentials
from tvms.rpc.dispatch import Dispatcher, Middleware, Next
from tvms.rpc.errors import ErrorCode, RpcError, invalid_params
from tvms.rpc.router import Procedure, Router, flatten

__all__ = [
    "DEVICE",
    "PUBLIC",
    "USER",
    "Auth",
    "Caller",
    "Context",
    "Credentials",
    "Dispatcher",
    "ErrorCode",
    "Middleware",
    "Next",
    "Principal",
    "Procedure",
    "Resolver",
    "Router",
    "RpcError",
    "Services",
    "flatten",
    "invalid_params",
    "roles",
]
