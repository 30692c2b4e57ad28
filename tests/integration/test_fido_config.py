# SPDX-License-Identifier: Apache-2.0
"""authenticatorConfig and largeBlobs of the FIDO applet through python-fido2 (Config,
LargeBlobs, Ctap2.large_blobs) over PC/SC: alwaysUv and the minimum PIN length as
getInfo shows them, forcePINChange until the next changePIN, who may configure; the
large-blob array written whole or in fragments, checked at the last fragment, kept
across power cycles, and written only with an lbw token once a PIN is set."""

import hashlib

import fkit
import fidokit
from fido2 import cbor
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.ctap2.blob import LargeBlobs
from fido2.ctap2.config import Config
from fido2.ctap2.pin import ClientPin, PinProtocolV1, PinProtocolV2

ERR = CtapError.ERR
PUAT_REQUIRED = 0x36  # CTAP 2.1's name; python-fido2 0.9.1 calls it PIN_REQUIRED
PERM = ClientPin.PERMISSION
EMPTY_ARRAY = bytes.fromhex("8076be8b528d0075f7aae98d6fa57a6d3c")


def blob_array(items):
    data = cbor.encode(items)
    return data + hashlib.sha256(data).digest()[:16]


def read_raw(ctap, offset=0, get=4096):
    return ctap.large_blobs(offset, get=get)[1]


class ConfigWithoutPin(fkit.RigTest):
    """Without a PIN (and alwaysUv off) config needs no token (CTAP 2.1 §6.11)."""

    def test_config(self):
        ctap = fidokit.ctap2()
        info = ctap.get_info()
        self.assertEqual((info.options["alwaysUv"], info.min_pin_length, info.force_pin_change),
                         (False, 4, False))
        self.assertIn("U2F_V2", info.versions)
        cfg = Config(ctap)
        # The minimum only rises; enterprise attestation does not exist here.
        cfg.set_min_pin_length(6, rp_ids=["example.com"])
        self.assertEqual(ctap.get_info().min_pin_length, 6)
        self.assertEqual(fidokit.ctap_error(cfg.set_min_pin_length, 5), ERR.PIN_POLICY_VIOLATION)
        self.assertEqual(fidokit.ctap_error(cfg.set_min_pin_length, 64), ERR.PIN_POLICY_VIOLATION)
        self.assertEqual(fidokit.ctap_error(cfg.set_min_pin_length, 7, ["a", "b", "c", "d", "e"]),
                         ERR.KEY_STORE_FULL)
        self.assertEqual(fidokit.ctap_error(cfg.set_min_pin_length, force_change_pin=True),
                         ERR.PIN_NOT_SET)
        self.assertEqual(fidokit.ctap_error(cfg._call, Config.CMD.ENABLE_ENTERPRISE_ATT),
                         ERR.INVALID_PARAMETER)
        self.assertEqual(fidokit.ctap_error(cfg._call, 0x42), ERR.INVALID_SUBCOMMAND)
        self.assertEqual(fidokit.ctap_error(ctap.send_cbor, Ctap2.CMD.CONFIG, {2: {}}),
                         ERR.MISSING_PARAMETER)
        self.assertEqual(ctap.get_info().min_pin_length, 6)
        # A PIN under the new minimum is refused; one that meets it is taken.
        cp = ClientPin(ctap)
        self.assertEqual(fidokit.ctap_error(cp.set_pin, "12345"), ERR.PIN_POLICY_VIOLATION)
        # alwaysUv: CTAP2 only (no U2F_V2), and from now on config needs a token.
        cfg.toggle_always_uv()
        info = ctap.get_info()
        self.assertIs(info.options["alwaysUv"], True)
        self.assertNotIn("U2F_V2", info.versions)
        self.assertEqual(fidokit.ctap_error(cfg.toggle_always_uv), PUAT_REQUIRED)
        # Both settings are on flash.
        ctap = fidokit.power_cycle(self.rig, ctap)
        self.assertEqual((ctap.info.options["alwaysUv"], ctap.info.min_pin_length), (True, 6))
        cp = ClientPin(ctap)
        cp.set_pin("123456")
        proto = PinProtocolV2()
        token = ClientPin(ctap, protocol=proto).get_pin_token("123456", PERM.AUTHENTICATOR_CFG)
        Config(ctap, proto, token).toggle_always_uv()
        self.assertIs(ctap.get_info().options["alwaysUv"], False)
        ctap.device.close()


class ConfigWithPin(fkit.RigTest):
    """With a PIN, config takes a token with acfg; a higher minimum forces a change."""

    def test_force_change(self):
        ctap = fidokit.ctap2()
        for proto_cls in (PinProtocolV1, PinProtocolV2):
            proto = proto_cls()
            cp = ClientPin(ctap, protocol=proto)
            if not ctap.get_info().options["clientPin"]:
                cp.set_pin("1234")
                pin = "1234"
            self.assertEqual(fidokit.ctap_error(Config(ctap).toggle_always_uv), PUAT_REQUIRED)
            token = cp.get_pin_token(pin, PERM.AUTHENTICATOR_CFG)
            # A pinUvAuthParam over other parameters does not verify.
            msg = b"\xff" * 32 + b"\x0d\x03" + cbor.encode({1: 5})
            self.assertEqual(fidokit.ctap_error(ctap.config, 3, {1: 6}, proto.VERSION,
                                                proto.authenticate(token, msg)),
                             ERR.PIN_AUTH_INVALID)
            # Raising the minimum over the PIN's length forces a change.
            new_min = ctap.get_info().min_pin_length + 2
            Config(ctap, proto, token).set_min_pin_length(new_min)
            info = ctap.get_info()
            self.assertEqual((info.min_pin_length, info.force_pin_change), (new_min, True))
            # No token until the PIN changed, and the new one must meet the minimum.
            self.assertEqual(fidokit.ctap_error(cp.get_pin_token, pin, PERM.AUTHENTICATOR_CFG),
                             ERR.PIN_POLICY_VIOLATION)
            self.assertEqual(cp.get_pin_retries()[0], 8)
            self.assertEqual(fidokit.ctap_error(cp.change_pin, pin, "9" * (new_min - 1)),
                             ERR.PIN_POLICY_VIOLATION)
            new_pin = "9" * new_min
            cp.change_pin(pin, new_pin)
            pin = new_pin
            self.assertIs(ctap.get_info().force_pin_change, False)
            token = cp.get_pin_token(pin, PERM.AUTHENTICATOR_CFG)
            # forceChangePin on its own.
            Config(ctap, proto, token).set_min_pin_length(force_change_pin=True)
            self.assertIs(ctap.get_info().force_pin_change, True)
            ctap = fidokit.power_cycle(self.rig, ctap)
            self.assertIs(ctap.info.force_pin_change, True)
            cp = ClientPin(ctap, protocol=proto)
            new_pin = pin + "1"
            cp.change_pin(pin, new_pin)
            pin = new_pin
            self.assertIs(ctap.get_info().force_pin_change, False)
        ctap.device.close()


class LargeBlobsWithoutPin(fkit.RigTest):
    """Without a PIN anyone may write (CTAP 2.1 §6.10.2)."""

    def test_whole_array(self):
        ctap = fidokit.ctap2()
        lb = LargeBlobs(ctap)
        items = [{1: b"\x11" * 40, 2: b"\x22" * 12, 3: 40}]
        lb.write_blob_array(items)
        self.assertEqual(lb.read_blob_array(), items)
        ctap = fidokit.power_cycle(self.rig, ctap)
        self.assertEqual(LargeBlobs(ctap).read_blob_array(), items)
        # Partial reads.
        whole = read_raw(ctap)
        self.assertEqual(read_raw(ctap, 5, 10), whole[5:15])
        self.assertEqual(read_raw(ctap, len(whole), 10), b"")
        self.assertEqual(fidokit.ctap_error(ctap.large_blobs, len(whole) + 1, get=1),
                         ERR.INVALID_PARAMETER)
        self.assertEqual(fidokit.ctap_error(ctap.large_blobs, 0, get=ctap.info.max_msg_size),
                         ERR.INVALID_LENGTH)
        ctap.device.close()

    def test_fragments(self):
        ctap = fidokit.ctap2()
        before = read_raw(ctap)
        data = blob_array([{1: bytes(range(256)) * 12, 2: b"\x01" * 12, 3: 9999}])
        self.assertGreater(len(data), 3000)
        parts = [data[i:i + 1000] for i in range(0, len(data), 1000)]
        # Every fragment but the last changes nothing visible.
        ctap.large_blobs(0, set=parts[0], length=len(data))
        offset = len(parts[0])
        for p in parts[1:-1]:
            ctap.large_blobs(offset, set=p)
            offset += len(p)
            self.assertEqual(read_raw(ctap), before)
        # A fragment at another offset than the next one.
        self.assertEqual(fidokit.ctap_error(ctap.large_blobs, offset + 1, set=parts[-1]),
                         ERR.INVALID_SEQ)
        ctap.large_blobs(offset, set=parts[-1])
        self.assertEqual(read_raw(ctap), data)
        # A continuation without a start, and one after a power cycle.
        self.assertEqual(fidokit.ctap_error(ctap.large_blobs, 1000, set=parts[1]),
                         ERR.INVALID_SEQ)
        ctap.large_blobs(0, set=parts[0], length=len(data))
        ctap = fidokit.power_cycle(self.rig, ctap)
        self.assertEqual(fidokit.ctap_error(ctap.large_blobs, 1000, set=parts[1]),
                         ERR.INVALID_SEQ)
        self.assertEqual(read_raw(ctap), data)
        ctap.device.close()

    def test_refused_writes(self):
        ctap = fidokit.ctap2()
        before = read_raw(ctap)
        good = blob_array([{1: b"x" * 20, 2: b"y" * 12, 3: 20}])
        bad = good[:-1] + bytes([good[-1] ^ 1])
        self.assertEqual(fidokit.ctap_error(ctap.large_blobs, 0, set=bad, length=len(bad)),
                         ERR.INTEGRITY_FAILURE)
        self.assertEqual(read_raw(ctap), before)
        # length: only with offset 0, at least 17, at most maxSerializedLargeBlobArray.
        self.assertEqual(fidokit.ctap_error(ctap.large_blobs, 0, set=good), ERR.INVALID_PARAMETER)
        self.assertEqual(fidokit.ctap_error(ctap.large_blobs, 0, set=good[:10], length=10),
                         ERR.INVALID_PARAMETER)
        self.assertEqual(fidokit.ctap_error(ctap.large_blobs, 0, set=good, length=4097),
                         ERR.LARGE_BLOB_STORAGE_FULL)
        ctap.large_blobs(0, set=good[:10], length=len(good))
        self.assertEqual(fidokit.ctap_error(ctap.large_blobs, 10, set=good[10:],
                                            length=len(good)),
                         ERR.INVALID_PARAMETER)
        # More than announced.
        self.assertEqual(fidokit.ctap_error(ctap.large_blobs, 10, set=good[10:] + b"z"),
                         ERR.INVALID_PARAMETER)
        # get and set together, neither, no offset, a fragment over maxFragmentLength.
        self.assertEqual(fidokit.ctap_error(ctap.large_blobs, 0, get=10, set=good,
                                            length=len(good)),
                         ERR.INVALID_PARAMETER)
        self.assertEqual(fidokit.ctap_error(ctap.large_blobs, 0), ERR.INVALID_PARAMETER)
        self.assertEqual(fidokit.ctap_error(ctap.send_cbor, Ctap2.CMD.LARGE_BLOBS, {1: 10}),
                         ERR.MISSING_PARAMETER)
        self.assertEqual(fidokit.ctap_error(ctap.large_blobs, 0, set=b"\0" * 7546, length=8000),
                         ERR.INVALID_LENGTH)
        self.assertEqual(read_raw(ctap), before)
        ctap.device.close()


class LargeBlobsWithPin(fkit.RigTest):
    """With a PIN set, a write needs a token with lbw."""

    def test_token_needed(self):
        ctap = fidokit.ctap2()
        items = [{1: b"a" * 30, 2: b"b" * 12, 3: 30}]
        # A new authenticator holds the empty array.
        self.assertEqual(read_raw(ctap), EMPTY_ARRAY)
        self.assertEqual(LargeBlobs(ctap).read_blob_array(), [])
        ClientPin(ctap).set_pin("1234")
        self.assertEqual(fidokit.ctap_error(LargeBlobs(ctap).write_blob_array, items),
                         PUAT_REQUIRED)
        for proto_cls in (PinProtocolV1, PinProtocolV2):
            proto = proto_cls()
            cp = ClientPin(ctap, protocol=proto)
            acfg = cp.get_pin_token("1234", PERM.AUTHENTICATOR_CFG)
            self.assertEqual(fidokit.ctap_error(LargeBlobs(ctap, proto, acfg).write_blob_array,
                                                items),
                             ERR.PIN_AUTH_INVALID)
            self.assertEqual(read_raw(ctap), EMPTY_ARRAY)
            lbw = cp.get_pin_token("1234", PERM.LARGE_BLOB_WRITE)
            LargeBlobs(ctap, proto, lbw).write_blob_array(items)
            self.assertEqual(LargeBlobs(ctap).read_blob_array(), items)
            LargeBlobs(ctap, proto, lbw).write_blob_array([])
            self.assertEqual(read_raw(ctap), EMPTY_ARRAY)
        ctap.device.close()


if __name__ == "__main__":
    fkit.main(__doc__)
