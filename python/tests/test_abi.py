"""The ctypes mirrors of the header's structs have the C compiler's sizes and
offsets (a mismatch would make the library read garbage or reject `size`)."""
import ctypes
import os
import shutil
import subprocess
import tempfile
import unittest

import util
from backprop import _lib

STRUCTS = {"bp_layer_spec": _lib.LayerSpec, "bp_csv_options": _lib.CsvOptions,
           "bp_train_options": _lib.TrainOptions, "bp_metrics": _lib.Metrics,
           "bp_epoch_report": _lib.EpochReport}


class Abi(unittest.TestCase):
    @unittest.skipUnless(shutil.which("cc"), "no C compiler")
    def test_sizes_and_offsets_match_the_header(self):
        lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "backprop.h"',
                 'int main(void) {']
        for cname, cls in STRUCTS.items():
            lines.append('printf("%s %%zu\\n", sizeof(%s));' % (cname, cname))
            for f, _ in cls._fields_:
                lines.append('printf("%s.%s %%zu\\n", offsetof(%s, %s));' % (cname, f, cname, f))
        lines.append("return 0; }")
        with tempfile.TemporaryDirectory() as d:
            src, exe = os.path.join(d, "abi.c"), os.path.join(d, "abi")
            with open(src, "w") as fp:
                fp.write("\n".join(lines))
            subprocess.run(["cc", "-std=c11", "-I", os.path.join(util.ROOT, "include"), src,
                            "-o", exe], check=True)
            out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
        c = dict(line.split() for line in out.splitlines())
        for cname, cls in STRUCTS.items():
            # the mirror may be a prefix of a newer header's struct (fields are only
            # added at the end): every mirrored field at its C offset, sizeof ≤ C's
            for f, _ in cls._fields_:
                self.assertEqual(getattr(cls, f).offset, int(c[cname + "." + f]),
                                 "%s.%s offset" % (cname, f))
            self.assertLessEqual(ctypes.sizeof(cls), int(c[cname]), cname + " sizeof")
            if ctypes.sizeof(cls) < int(c[cname]):
                print("note: %s grew to %s bytes; the Python mirror covers %d (still "
                      "accepted: fields are added at the end)" % (cname, c[cname],
                                                                   ctypes.sizeof(cls)))

    def test_library_accepts_our_sizes(self):
        o = _lib.TrainOptions()
        _lib.lib.bp_train_options_init(ctypes.byref(o), ctypes.sizeof(o))
        self.assertEqual(o.size, ctypes.sizeof(o))
        self.assertEqual(o.epochs, 10)   # the documented defaults came through
        self.assertEqual(o.threads, 1)
        self.assertAlmostEqual(o.beta2, 0.999, places=6)


if __name__ == "__main__":
    unittest.main()
