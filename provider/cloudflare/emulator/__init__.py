"""RealtimeKit emulator: a local, stateful HTTP twin of the Cloudflare RealtimeKit meetings API.

cfql's tests, demos and benchmarks run against it instead of the real
service; see README.md beside this file for the behaviour it commits to.

    from cfql.provider.cloudflare.emulator import Emulator, Faults, SANDBOX_TOKEN

    with Emulator(faults=Faults(error_rate=0.1, seed=7)) as emu:
        client = httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"})
"""

from .emulator import SANDBOX_ACCOUNT_ID, SANDBOX_APP_ID, SANDBOX_TOKEN, Emulator, start_sandbox
from .faults import Faults

__all__ = ["SANDBOX_ACCOUNT_ID", "SANDBOX_APP_ID", "SANDBOX_TOKEN", "Emulator", "Faults", "start_sandbox"]
