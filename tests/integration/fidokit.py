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


# ---- clientPIN, authenticatorConfig, large blobs, U2F (test_fido_pin.py and after) ----

def ctap2(reader=fkit.READER_SLOT0):
    """python-fido2's Ctap2 over the FIDO applet of the card in `reader` (getInfo read).
    pyscard keeps one PC/SC context per process; each rig has its own pcscd, so the
    context is made anew (the one of an earlier rig's pcscd answers "not available")."""
    from fido2.ctap2 import Ctap2
    from smartcard.pcsc.PCSCContext import PCSCContext
    PCSCContext.renewContext()
    return Ctap2(pcsc_device(reader))


def legacy_pin_token(client_pin, pin):
    """A token from getPinToken (05, implied mc|ga permissions). python-fido2 0.9.1's
    get_pin_token sends 09 whenever getInfo has pinUvAuthToken, also without
    permissions, which 09 requires (MISSING_PARAMETER); 05 must be asked for."""
    saved = client_pin._supports_permissions
    client_pin._supports_permissions = False
    try:
        return client_pin.get_pin_token(pin)
    finally:
        client_pin._supports_permissions = saved


def power_cycle(rig, ctap=None):
    """Take the power away from the simulated device and give it back (the simulator
    stops and starts again on the same flash: every volatile state is gone); returns a
    new Ctap2. ctap, the old one, is closed first. Keep one Ctap2 per device at a time:
    pyscard unpowers the card when a connection is dropped, which resets the others."""
    if ctap is not None:
        ctap.device.close()
    rig.stop_sim()
    fkit.restart_sim(rig)
    return ctap2()


def _pin_exchange(ctap, protocol):
    from fido2.ctap2.pin import ClientPin
    return ClientPin(ctap, protocol=protocol)._get_shared_secret()


def set_pin_raw(ctap, protocol, padded):
    """setPIN with newPinEnc over `padded` as it is (python-fido2 pads and checks a PIN
    itself, so a policy the authenticator enforces is only reachable this way)."""
    from fido2.ctap2.pin import ClientPin
    key_agreement, shared = _pin_exchange(ctap, protocol)
    enc = protocol.encrypt(shared, padded)
    ctap.client_pin(protocol.VERSION, ClientPin.CMD.SET_PIN, key_agreement=key_agreement,
                    new_pin_enc=enc, pin_uv_param=protocol.authenticate(shared, enc))


def change_pin_raw(ctap, protocol, old_pin, padded):
    """changePIN to newPinEnc over `padded` as it is."""
    import hashlib
    from fido2.ctap2.pin import ClientPin
    key_agreement, shared = _pin_exchange(ctap, protocol)
    hash_enc = protocol.encrypt(shared, hashlib.sha256(old_pin.encode()).digest()[:16])
    enc = protocol.encrypt(shared, padded)
    ctap.client_pin(protocol.VERSION, ClientPin.CMD.CHANGE_PIN, key_agreement=key_agreement,
                    new_pin_enc=enc, pin_hash_enc=hash_enc,
                    pin_uv_param=protocol.authenticate(shared, enc + hash_enc))


def pad_pin(pin):
    """A PIN (text) zero-padded to 64 bytes, as setPIN and changePIN carry it."""
    raw = pin.encode() if isinstance(pin, str) else pin
    return raw + b"\0" * (64 - len(raw))


def ctap_error(call, *args, **kwargs):
    """Run call(*args, **kwargs), which must fail with a CtapError; return its code."""
    from fido2.ctap import CtapError
    try:
        call(*args, **kwargs)
    except CtapError as e:
        return e.code
    raise AssertionError("%s succeeded; a CTAP error was expected" % getattr(call, "__name__", call))


def pin_protocols():
    """python-fido2's PIN/UV auth protocol classes, 1 then 2."""
    from fido2.ctap2.pin import PinProtocolV1, PinProtocolV2
    return (PinProtocolV1, PinProtocolV2)

# ---- Credentials: makeCredential / getAssertion helpers (test_fido_cred.py, test_fido_credmgmt.py)

import hashlib
import os

try:
    from fido2.cose import CoseKey
    from fido2.ctap import CtapError
    from fido2.ctap2 import Ctap2
    from fido2.ctap2.pin import ClientPin
except ImportError:  # reported as a failure by pcsc_device()
    CoseKey = CtapError = Ctap2 = ClientPin = None

ES256 = -7
EDDSA = -8
PUBLIC_KEY = "public-key"
TEST_PIN = "314159"


def ctap2_with_pin(pin=TEST_PIN, reader=fkit.READER_SLOT0):
    """(Ctap2, ClientPin) with `pin` set as the clientPIN when none is set yet."""
    ctap = ctap2(reader)
    client_pin = ClientPin(ctap)
    if not ctap.get_info().options.get("clientPin"):
        client_pin.set_pin(pin)
    return ctap, client_pin


def pin_token(client_pin, permissions, rp_id=None, pin=TEST_PIN):
    """A pinUvAuthToken with permissions (ClientPin.PERMISSION flags), optionally RP-bound."""
    return client_pin.get_pin_token(pin, permissions, rp_id)


def pin_uv_param(client_pin, token, message):
    """pinUvAuthParam = authenticate(token, message) under the ClientPin's protocol."""
    return client_pin.protocol.authenticate(token, message)


def cdh(label=b""):
    """A fresh clientDataHash."""
    return hashlib.sha256(label + os.urandom(16)).digest()


def rp_hash(rp_id):
    return hashlib.sha256(rp_id.encode()).digest()


def descriptor(cred_id):
    return {"type": PUBLIC_KEY, "id": cred_id}


def make_cred(ctap, rp_id="example.com", user_id=b"user-1", alg=ES256, rk=False, extensions=None,
              exclude=None, name=None, display_name=None, client_data_hash=None, **kw):
    """makeCredential through Ctap2; returns (AttestationObject, clientDataHash)."""
    h = client_data_hash or cdh(b"mc")
    user = {"id": user_id}
    if name is not None:
        user["name"] = name
    if display_name is not None:
        user["displayName"] = display_name
    options = {"rk": True} if rk else None
    att = ctap.make_credential(h, {"id": rp_id, "name": rp_id}, user,
                               [{"type": PUBLIC_KEY, "alg": alg}], exclude_list=exclude,
                               extensions=extensions, options=options, **kw)
    return att, h


def check_attestation(test, att, client_data_hash):
    """Packed self attestation: alg of the credential, signature by the credential key."""
    test.assertEqual(att.fmt, "packed")
    key = att.auth_data.credential_data.public_key
    test.assertEqual(att.att_statement["alg"], key[3])
    test.assertNotIn("x5c", att.att_statement)
    key.verify(bytes(att.auth_data) + client_data_hash, att.att_statement["sig"])
    return key


def expect_ctap(test, code, fn, *args, **kwargs):
    """Assert that fn(*args, **kwargs) fails with CTAP status `code`."""
    with test.assertRaises(CtapError) as cm:
        fn(*args, **kwargs)
    test.assertEqual(cm.exception.code, code,
                     "expected CTAP status %02X, got %02X" % (code, cm.exception.code))


def hmac_secret_input(client_pin, salt):
    """The hmac-secret getAssertion input for salt (32 or 64 bytes) and the shared secret
    to decrypt its output with."""
    key_agreement, shared = client_pin._get_shared_secret()
    proto = client_pin.protocol
    salt_enc = proto.encrypt(shared, salt)
    salt_auth = proto.authenticate(shared, salt_enc)
    return ({"hmac-secret": {1: key_agreement, 2: salt_enc, 3: salt_auth, 4: proto.VERSION}},
            shared)
