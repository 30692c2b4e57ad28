# SPDX-License-Identifier: Apache-2.0
"""Data files of the HSM applet through pcscd+vpcd with raw APDUs (SCardTransmit): SELECT
answers an FCP with the exact size, 64 KiB files written with extended and with short
UPDATE BINARY chunks read back with extended and short READ BINARY, ENUMERATE OBJECTS,
DELETE FILE and the PIN rules of each; and opensc-explorer reading files whole by the
size in their FCP.

The card is initialized once (INITIALIZE with PIN 648219 and SO-PIN 3537363231383830;
any answer but 9000 fails every test) and the user PIN verified where a check needs it.
"""

import os
import re
import shutil
import subprocess
import tempfile

import fkit
from fkit import SW_OK, apdu, hx

PIN = b"648219"
SO_PIN = bytes.fromhex("3537363231383830")
OPTIONS = bytes.fromhex("0001")  # RESET RETRY COUNTER enabled, as sc-hsm-tool sends
PIN_RETRIES = 3
INITIALIZE = (apdu("80 50 00 00 19") + b"\x80\x02" + OPTIONS + b"\x81\x06" + PIN +
              b"\x82\x08" + SO_PIN + bytes([0x91, 0x01, PIN_RETRIES]))
VERIFY = apdu("00 20 00 81 06") + PIN

SW_END_OF_FILE = 0x6282
SW_SECURITY = 0x6982
SW_NO_CURRENT_EF = 0x6986
SW_WRONG_DATA = 0x6A80
SW_NOT_ENOUGH_MEMORY = 0x6A84

FILE_64K = 64 * 1024
FILE_MAX = 128 * 1024
SHORT_CHUNK = 240      # file bytes per short UPDATE BINARY (Lc <= 255 with 54 and 53 headers)
EXT_CHUNKS = (1215, 8, 30000)  # extended UPDATE BINARY chunks, repeated: OpenSC's size and larger
EXT_READ = 32768       # extended READ BINARY Le
SHORT_READ = 256       # short READ BINARY Le (00)
FCP_SIZE_2_MAX = 0x7FFF  # largest size the FCP gives in 2 bytes
VPCD_FRAME_MAX = 65535

OPENSC_TIMEOUT = 60  # seconds
OPENSC_SIZES = (26, 40000)  # below and above 0x7FFF, both read whole by OpenSC 0.23

PUBLIC_PREFIXES = {0xC4, 0xC8, 0xC9, 0xCA, 0xCC, 0xCD, 0xCE, 0xCF}
FID_TOKENINFO = 0x2F03
DEFAULT_TOKENINFO_LABEL = b"fusekey"


def fid_bytes(fid):
    return bytes([fid >> 8, fid & 0xFF])


def select_fid(fid, p2=0x00):
    return apdu("00 A4 00") + bytes([p2, 2]) + fid_bytes(fid) + b"\x00"


def offset_tlv(offset):
    width = 2 if offset <= 0xFFFF else 3
    return bytes([0x54, width]) + offset.to_bytes(width, "big")


def ber_len(n):
    if n < 0x80:
        return bytes([n])
    if n <= 0xFF:
        return bytes([0x81, n])
    if n <= 0xFFFF:
        return b"\x82" + n.to_bytes(2, "big")
    return b"\x83" + n.to_bytes(3, "big")


def with_lengths(header, data, le=None, extended=False):
    """header + Lc + data [+ Le]: short unless extended or the sizes need it."""
    if extended or len(data) > 255 or (le is not None and le > 256):
        cmd = header + b"\x00" + len(data).to_bytes(2, "big") + data
        if le is not None:
            cmd += (le & 0xFFFF).to_bytes(2, "big")  # 65536 -> 00 00
        return cmd
    cmd = header + bytes([len(data)]) + data
    if le is not None:
        cmd += bytes([le & 0xFF])  # 256 -> 00
    return cmd


def update_binary(fid, offset, data, extended=False):
    """UPDATE BINARY (D7): 54 offset 53 data; FID 0000 = the selected EF."""
    body = offset_tlv(offset) + b"\x53" + ber_len(len(data)) + data
    return with_lengths(apdu("00 D7") + fid_bytes(fid), body, extended=extended)


def read_binary(fid, offset, le):
    """READ BINARY (B1): 54 offset, Le; FID 0000 = the selected EF."""
    return with_lengths(apdu("00 B1") + fid_bytes(fid), offset_tlv(offset), le=le)


def pattern(n, seed):
    out = bytearray(n)
    x = seed * 2654435761 + 1
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        out[i] = (x >> 16) & 0xFF
    return bytes(out)


def fcp_size(fcp):
    """The size in tag 81 of an EF's FCP (62 { 81 size, 82, 83, 8A })."""
    children = fkit.tlv_children(fcp)
    assert len(children) == 1 and children[0][0] == 0x62, "not an FCP: %s" % hx(fcp)
    inner = dict(fkit.tlv_children(children[0][1]))
    assert 0x81 in inner, "no tag 81 in %s" % hx(fcp)
    return int.from_bytes(inner[0x81], "big")


class Files(fkit.RigTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            _, sw = cls.card.transmit(fkit.select_aid(fkit.HSM_AID))
            if sw != SW_OK:
                raise AssertionError("SELECT of the HSM applet -> %04X" % sw)
            _, sw = cls.card.transmit(INITIALIZE)
            if sw != SW_OK:
                raise AssertionError("INITIALIZE %s -> %04X" % (hx(INITIALIZE), sw))
        except BaseException:
            cls.rig.failed = True
            cls.tearDownClass()
            raise

    def setUp(self):
        self.select_hsm()  # also forgets a verified PIN and the selected EF

    def login(self):
        """Verify the user PIN."""
        self.sw_is(VERIFY, SW_OK)

    def transmit_all(self, cmd):
        """Send cmd and follow 61xx; returns (data, sw)."""
        data, sw = self.card.transmit(cmd)
        data, sw, _ = self.card.get_response_all(data, sw)
        return data, sw

    def read_file(self, fid, le):
        """SELECT fid, then READ BINARY with FID 0000 and Le le at growing offsets until
        an answer is shorter than le, then once more at offset = size (9000, no data)."""
        size = fcp_size(self.sw_is(select_fid(fid), SW_OK))
        out = b""
        while True:
            data, sw = self.transmit_all(read_binary(0x0000, len(out), le))
            self.assertEqual(sw, SW_OK, "READ at %d -> %04X" % (len(out), sw))
            self.assertLessEqual(len(data), le)
            out += data
            if len(data) < le:
                break
        self.assertEqual(self.sw_is(read_binary(0x0000, len(out), le), SW_OK), b"")
        self.assertEqual(len(out), size, "FCP size %d, read %d bytes" % (size, len(out)))
        return out

    def write_file(self, fid, content, chunks, extended):
        """Create fid with an empty write, then write content with FID 0000 in chunks
        of the sizes in `chunks`, repeated."""
        self.sw_is(update_binary(fid, 0, b""), SW_OK)
        off = 0
        i = 0
        while off < len(content):
            n = min(chunks[i % len(chunks)], len(content) - off)
            self.sw_is(update_binary(0x0000, off, content[off:off + n], extended), SW_OK)
            off += n
            i += 1
        return i

    def enumerate(self):
        data = self.sw_is(apdu("80 58 00 00 00 00 00"), SW_OK)
        self.assertEqual(len(data) % 2, 0, "odd ENUMERATE answer %s" % hx(data))
        return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]

    # -- without a PIN ---------------------------------------------------------------

    def test_select_answers(self):
        """SELECT: paths and ids that are not files answer 6A82 (also for READ); P2 0C
        answers no data."""
        self.sw_is(apdu("00 A4 08 00 04 50 15 49 46 00"), fkit.SW_FILE_NOT_FOUND)
        self.sw_is(apdu("00 A4 08 00 02 2F 00 00"), fkit.SW_FILE_NOT_FOUND)
        for fid in (0x0001, 0x1000, 0x1081, 0x5015, 0xCF7E):
            self.sw_is(select_fid(fid), fkit.SW_FILE_NOT_FOUND)
            self.sw_is(read_binary(fid, 0, SHORT_READ), fkit.SW_FILE_NOT_FOUND)
        self.assertEqual(self.sw_is(select_fid(FID_TOKENINFO, p2=0x0C), SW_OK), b"")
        self.assertNotEqual(self.sw_is(read_binary(0x0000, 0, SHORT_READ), SW_OK), b"")

    def test_tokeninfo(self):
        """2F03 never written: a default TokenInfo labelled "fusekey" whose FCP size is
        what READ gives; the host's TokenInfo (sc-hsm-tool --label) replaces it."""
        fcp = self.sw_is(select_fid(FID_TOKENINFO), SW_OK)
        info = self.read_file(FID_TOKENINFO, SHORT_READ)
        self.assertEqual(fcp_size(fcp), len(info))
        label = b"\x80" + bytes([len(DEFAULT_TOKENINFO_LABEL)]) + DEFAULT_TOKENINFO_LABEL
        self.assertIn(label, info)
        self.login()
        written = apdu("00 D7 2F 03 18 54 02 00 00 53 12 30 10 02 01 00 80 07 4D 79 4C 61 62 65 "
                       "6C 03 02 05 20")
        self.sw_is(written, SW_OK)
        self.assertEqual(self.read_file(FID_TOKENINFO, SHORT_READ), written[-18:])

    def test_no_write_without_pin(self):
        """UPDATE BINARY and DELETE FILE without a verified PIN: 6982, nothing created."""
        for fid in (0xCF7F, 0xC97F, FID_TOKENINFO, 0x2F10):
            self.sw_is(update_binary(fid, 0, b"x" * 10), SW_SECURITY)
            self.sw_is(apdu("00 E4 02 00 02") + fid_bytes(fid), SW_SECURITY)
        self.sw_is(select_fid(0xCF7F), fkit.SW_FILE_NOT_FOUND)
        self.assertNotIn(0xCF7F, self.enumerate())
        self.sw_is(update_binary(0x0000, 0, b"x"), SW_NO_CURRENT_EF)

    def test_enumerate_blank_rules(self):
        """ENUMERATE lists only key and PKCS#15 FIDs (prefixes C4-CF), each selectable."""
        for fid in self.enumerate():
            self.assertIn(fid >> 8, PUBLIC_PREFIXES, "ENUMERATE lists %04X" % fid)
            self.sw_is(select_fid(fid), SW_OK)

    # -- with the user PIN ------------------------------------------------------------

    def test_64k_extended(self):
        """64 KiB written with extended UPDATE BINARY chunks (1215, 8 and 30000 bytes) and
        read back with extended READ BINARY (Le 32768, and Le 65536 whose answer is longer
        than a vpcd frame and ends through GET RESPONSE)."""
        self.login()
        content = pattern(FILE_64K, 1)
        self.write_file(0xCF10, content, EXT_CHUNKS, extended=True)
        self.assertEqual(fcp_size(self.sw_is(select_fid(0xCF10), SW_OK)), FILE_64K)
        self.assertEqual(self.read_file(0xCF10, EXT_READ), content)
        data, sw = self.card.transmit(read_binary(0xCF10, 0, 65536))
        self.assertEqual(sw >> 8, fkit.SW1_BYTES_REMAINING, "65536-byte READ -> %04X" % sw)
        self.assertEqual(len(data), VPCD_FRAME_MAX - 2)
        data, sw, n = self.card.get_response_all(data, sw)
        self.assertEqual((sw, n), (SW_OK, 1))
        self.assertEqual(data, content)

    def test_64k_short(self):
        """64 KiB written with short UPDATE BINARY chunks (240 bytes, 3-byte offsets past
        64 KiB) and read back with short READ BINARY (Le 00), as on a reader without
        extended APDUs; then with the FID in P1P2 on every chunk (OpenSC 0.27's 2F10)."""
        self.login()
        content = pattern(FILE_64K, 2)
        self.write_file(0xCF11, content, (SHORT_CHUNK,), extended=False)
        self.assertEqual(self.read_file(0xCF11, SHORT_READ), content)

        content = pattern(FILE_64K, 3)
        off = 0
        while off < len(content):
            n = min(SHORT_CHUNK, len(content) - off)
            self.sw_is(update_binary(0x2F10, off, content[off:off + n]), SW_OK)
            off += n
        self.assertEqual(self.read_file(0x2F10, SHORT_READ), content)
        self.sw_is(apdu("00 E4 02 00 02 2F 10"), SW_OK)

    def test_fcp_sizes(self):
        """The FCP carries the exact size: 2 bytes up to 7FFF, 3 bytes from 8000 (OpenSC
        reads tag 81 as a signed integer) up to 128 KiB."""
        self.login()
        for i, size in enumerate((0, 26, 300, 0x7FFF, 0x8000, 0xFFFF, 0x10000, FILE_MAX)):
            fid = 0xCF20 + i
            content = pattern(size, 10 + i)
            self.write_file(fid, content, (30000,), extended=True)
            fcp = self.sw_is(select_fid(fid), SW_OK)
            self.assertEqual(fcp_size(fcp), size, "FCP %s" % hx(fcp))
            width = 2 if size <= FCP_SIZE_2_MAX else 3
            self.assertEqual(fcp[2:4], bytes([0x81, width]), "FCP %s" % hx(fcp))
            self.assertEqual(fcp[-10:], bytes([0x82, 1, 1, 0x83, 2]) + fid_bytes(fid) + b"\x8A\x01\x05")
            if size:
                self.assertEqual(self.sw_is(read_binary(0x0000, size - 1, 16), SW_OK), content[-1:])
            self.sw_is(read_binary(0x0000, size + 1, 16), SW_END_OF_FILE)
        self.sw_is(update_binary(0xCF27, FILE_MAX, b"x"), SW_NOT_ENOUGH_MEMORY)
        self.sw_is(update_binary(0xCF26, 0x10001, b"x"), SW_WRONG_DATA)
        for i in range(8):
            self.sw_is(apdu("00 E4 02 00 02") + fid_bytes(0xCF20 + i), SW_OK)

    def test_offsets_and_truncation(self):
        """Offset writes patch and extend; an offset-0 write replaces the whole content."""
        self.login()
        self.sw_is(update_binary(0xCF30, 0, b"A" * 100), SW_OK)
        self.sw_is(update_binary(0x0000, 40, b"B" * 10), SW_OK)
        self.sw_is(update_binary(0x0000, 100, b"C" * 5), SW_OK)
        self.assertEqual(self.read_file(0xCF30, SHORT_READ), b"A" * 40 + b"B" * 10 + b"A" * 50 + b"C" * 5)
        self.sw_is(update_binary(0x0000, 0, b"D" * 3), SW_OK)
        self.assertEqual(self.read_file(0xCF30, SHORT_READ), b"DDD")

    def test_private_data(self):
        """CD files are written and read with the PIN; without it their FCP is visible and
        their content is not."""
        self.login()
        content = pattern(500, 4)
        self.write_file(0xCD01, content, (SHORT_CHUNK,), extended=False)
        self.select_hsm()  # logout
        self.assertEqual(fcp_size(self.sw_is(select_fid(0xCD01), SW_OK)), len(content))
        self.sw_is(read_binary(0x0000, 0, SHORT_READ), SW_SECURITY)
        self.login()
        self.assertEqual(self.read_file(0xCD01, SHORT_READ), content)

    def test_enumerate_and_delete(self):
        """Files written appear in ENUMERATE in their prefix, deleted ones go; static EFs
        and internal ids never appear."""
        self.login()
        for fid in (0xC901, 0xCF01, 0xC800, 0xCA00):
            self.sw_is(update_binary(fid, 0, pattern(20, fid)), SW_OK)
        listed = self.enumerate()
        for fid in (0xC901, 0xCF01, 0xC800, 0xCA00):
            self.assertIn(fid, listed)
        for fid in listed:
            self.assertIn(fid >> 8, PUBLIC_PREFIXES, "ENUMERATE lists %04X" % fid)
        self.assertEqual(len(set(listed)), len(listed))
        self.sw_is(apdu("00 E4 02 00 02 CF 01"), SW_OK)
        self.sw_is(apdu("00 E4 00 00 02 C9 01"), SW_OK)
        self.sw_is(apdu("00 E4 02 00 02 C9 01"), fkit.SW_FILE_NOT_FOUND)
        listed = self.enumerate()
        self.assertNotIn(0xCF01, listed)
        self.assertNotIn(0xC901, listed)
        self.assertIn(0xCA00, listed)
        self.sw_is(select_fid(0xCF01), fkit.SW_FILE_NOT_FOUND)

    def test_opensc_reads_files(self):
        """OpenSC (opensc-explorer, its own driver detection and sc-hsm driver) reads the
        size from the FCP and the whole content, for sizes below and above 0x7FFF."""
        if shutil.which("opensc-explorer") is None:
            self.fail("opensc-explorer not found: run tools/deps.sh")
        self.login()
        contents = {}
        for i, size in enumerate(OPENSC_SIZES):
            fid = 0xCF40 + i
            contents[fid] = pattern(size, 40 + i)
            self.write_file(fid, contents[fid], (30000,), extended=True)
        with tempfile.TemporaryDirectory(prefix="fk-files-") as tmp:
            script = os.path.join(tmp, "script")
            with open(script, "w") as f:
                for fid in contents:
                    f.write("info %04X\nget %04X %s\n" % (fid, fid, os.path.join(tmp, "%04X" % fid)))
            env = {k: v for k, v in os.environ.items() if not k.startswith("OPENSC_")}
            self.card.close()  # OpenSC connects on its own
            try:
                proc = subprocess.run(["opensc-explorer", "--reader", "0", script], env=env,
                                      stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                      timeout=OPENSC_TIMEOUT)
            finally:
                type(self).card = self.rig.wait_card()
            out = proc.stdout + proc.stderr
            self.assertEqual(proc.returncode, 0, out)
            sizes = [int(m) for m in re.findall(r"File size:\s+(\d+) bytes", out)]
            self.assertEqual(sizes, list(OPENSC_SIZES), out)
            for fid, content in contents.items():
                with open(os.path.join(tmp, "%04X" % fid), "rb") as f:
                    self.assertEqual(f.read(), content, "opensc-explorer get %04X" % fid)


if __name__ == "__main__":
    fkit.main(__doc__)
