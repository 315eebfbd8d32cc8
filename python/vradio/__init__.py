"""Virtual Bluetooth LE radio: corrected Bumble controllers on one in-memory link."""

from vradio.controller import VirtualController, public_address_for
from vradio.link import VirtualLink
from vradio.radio import VirtualRadio

__all__ = ['VirtualController', 'VirtualLink', 'VirtualRadio', 'public_address_for']
