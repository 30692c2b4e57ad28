# SPDX-License-Identifier: Apache-2.0
"""fidokit: python-fido2 (Debian's 0.9.1) against fusekey-sim's FIDO applet.

Through the rig's virtual reader (fkit.Rig): python-fido2's CtapPcscDevice
selects the FIDO AID and speaks NFCCTAP_MSG and the U2F APDUs over PC/SC.
"""

import fkit

try:
    from fido2.pcsc import CtapPcscDevice
    from smartcard.System import readers as pcsc_readers
except ImportError:  # reported as a failure by pcsc_device()
    CtapPcscDevice = None
    pcsc_readers = None

INSTALL_HINT = "install python3-fido2 and python3-pyscard (sh tools/deps.sh)"


def pcsc_device(reader=fkit.READER_SLOT0):
    """A python-fido2 CtapDevice for the FIDO applet of the card in `reader`."""
    if CtapPcscDevice is None:
        raise AssertionError("python-fido2's PC/SC support is missing: " + INSTALL_HINT)
    for r in pcsc_readers():
        if r.name == reader:
            return CtapPcscDevice(r.createConnection(), r.name)
    raise AssertionError("no reader named %r" % reader)
