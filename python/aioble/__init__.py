# aioble: asyncio API over the `bluetooth` module, a drop-in for
# micropython-lib's aioble 0.6.x. Each role lives in an optional submodule;
# a missing one only disables that role.
#
# Beyond upstream: DeviceConnection, DeviceTimeout, ScanResult, the
# client classes, the L2CAP classes/exceptions and the `security` submodule
# are reachable from the package itself.

from micropython import const

from .device import Device, DeviceConnection, DeviceDisconnectedError, DeviceTimeout
from .core import log_info, log_warn, log_error, GattError, config, stop

try:
    from .peripheral import advertise
except ImportError:
    log_warn("Peripheral support disabled")

try:
    from .central import scan, ScanResult
except ImportError:
    log_warn("Central support disabled")

try:
    from .server import Service, Characteristic, BufferedCharacteristic, Descriptor, register_services
except ImportError:
    log_warn("GATT server support disabled")

try:
    from .client import ClientService, ClientCharacteristic, ClientDescriptor
except ImportError:
    log_warn("GATT client support disabled")

try:
    from .l2cap import L2CAPChannel, L2CAPDisconnectedError, L2CAPConnectionError
except ImportError:
    log_warn("L2CAP support disabled")

try:
    from . import security
except ImportError:
    log_warn("Security support disabled")

ADDR_PUBLIC = const(0)
ADDR_RANDOM = const(1)
