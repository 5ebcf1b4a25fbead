"""TVMS: the Smart City traffic platform's backend as a typed JSON-RPC 2.0 service."""

__version__ = "0.1.0"
