"""`tvms gen-client`: the typed Python and TypeScript clients, generated from the registry.

    generate_python(registry, out_dir)      # clients/python: the `tvms-client` package
    generate_typescript(registry, out_dir)  # clients/typescript: types.ts + client.ts

Both write every file of their directory (and remove files they no longer produce), so the
checked-in clients can be compared byte for byte with a fresh generation.
"""

from tvms.clientgen.command import DEFAULT_OUT, generate_all, register
from tvms.clientgen.writer import generate_python, generate_typescript

__all__ = ["DEFAULT_OUT", "generate_all", "generate_python", "generate_typescript", "register"]
