"""Device commands: `commands.*` for operators, `devices.*` for the devices that run them."""

from procedures.commands.device import devices
from procedures.commands.operators import commands
from procedures.commands.store import Wakeups, command_sweeper, settle

__all__ = ["Wakeups", "command_sweeper", "commands", "devices", "settle"]
