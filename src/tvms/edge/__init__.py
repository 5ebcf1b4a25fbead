"""The edge: the gateway agent (`tvms agent`) and the city simulator (`tvms simulate`).

Both are clients of the API like any other: they speak only through the generated Python client
(`tvms_client`), so every call they make proves the client too.
"""
