"""The tRPC wire format at `/trpc`, over the same procedures as `/rpc` (issue 8)."""

from tvms.trpc.endpoint import TrpcEndpoint, trpc_routes

__all__ = ["TrpcEndpoint", "trpc_routes"]
