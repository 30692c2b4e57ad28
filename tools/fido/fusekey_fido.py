# SPDX-License-Identifier: Apache-2.0
"""fusekey_fido: python-fido2 (0.9.1) over fusekey-sim's CTAPHID socket.

fusekey-sim serves its FIDO security key on a local socket in place of a USB
HID interface (docs/host-sim.md, "The CTAPHID socket"): an AF_UNIX
SOCK_SEQPACKET socket whose datagrams are 64-byte HID reports without a
report id. This module gives python-fido2 a CtapHidConnection over it, so
every python-fido2 API (Ctap2, ClientPin, CredentialManagement, Fido2Client,
raw CtapHidDevice.call) works unmodified:

    import fusekey_fido
    from fido2.ctap2 import Ctap2
    dev = fusekey_fido.open_device()        # a fido2.hid.CtapHidDevice
    print(Ctap2(dev).get_info())

The socket is FUSEKEY_CTAPHID when set, else the simulator's default,
$XDG_DATA_HOME/fusekey/ctaphid.sock (~/.local/share/fusekey/ctaphid.sock).
Only the standard library and python-fido2 are used.
"""

import os
import socket

from fido2.hid import CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor

REPORT_SIZE = 64
# The USB identity the device's FIDO interface has (docs/usb.md); only
# informative here.
VENDOR_ID = 0x20A0
PRODUCT_ID = 0x4230
ENV_SOCKET = "FUSEKEY_CTAPHID"
SOCKET_NAME = "ctaphid.sock"


def default_path():
    """The socket path: $FUSEKEY_CTAPHID, else the simulator's default."""
    path = os.environ.get(ENV_SOCKET)
    if path:
        return path
    data = os.environ.get("XDG_DATA_HOME", "")
    if not data.startswith("/"):  # relative values are invalid per XDG
        data = os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data, "fusekey", SOCKET_NAME)


class SocketCtapHidConnection(CtapHidConnection):
    """One client connection to the simulator's CTAPHID socket.

    timeout: seconds a read_packet may wait (None: forever, as on hidraw);
    a read that times out raises socket.timeout."""

    def __init__(self, path, timeout=None):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        except BaseException:
            self.sock.close()
            raise

    def write_packet(self, data):
        packet = bytes(data)
        if len(packet) != REPORT_SIZE:
            raise ValueError("a report is %d bytes, not %d" % (REPORT_SIZE, len(packet)))
        self.sock.sendall(packet)

    def read_packet(self):
        packet = self.sock.recv(REPORT_SIZE + 1)
        if not packet:
            raise OSError("the device went away (the simulator stopped or was power-cycled)")
        if len(packet) != REPORT_SIZE:
            raise OSError("the device sent %d bytes, not a %d-byte report"
                          % (len(packet), REPORT_SIZE))
        return packet

    def close(self):
        self.sock.close()


def descriptor(path=None):
    """The HidDescriptor of the device at path (python-fido2 0.9.1: 5 fields)."""
    return HidDescriptor(path or default_path(), VENDOR_ID, PRODUCT_ID, REPORT_SIZE,
                         REPORT_SIZE)


def open_device(path=None, timeout=None):
    """A fido2.hid.CtapHidDevice for the simulator's socket at path (None: the
    default); the constructor allocates a channel with CTAPHID_INIT."""
    desc = descriptor(path)
    conn = SocketCtapHidConnection(desc.path, timeout)
    try:
        return CtapHidDevice(desc, conn)
    except BaseException:
        conn.close()
        raise


def list_devices(path=None):
    """The simulator's device as a list of one CtapHidDevice, or [] when nothing
    listens at the socket."""
    try:
        return [open_device(path)]
    except OSError:
        return []


if __name__ == "__main__":
    from fido2.ctap2 import Ctap2

    dev = open_device()
    print("%s: CTAPHID version %d, device %d.%d.%d, capabilities 0x%02X"
          % ((dev.descriptor.path, dev.version) + dev.device_version + (dev.capabilities,)))
    print(Ctap2(dev).get_info())
    dev.close()
