#!/usr/bin/env python3
"""Regenerates the seed corpora in tests/fuzz/corpus/ (small good and bad
inputs for each fuzz target).  The model seeds need build/backprop:
    make && python3 tests/fuzz/make_corpus.py
Each CSV/IDX/model seed starts with the target's mode byte (see the targets)."""
import gzip, os, struct, subprocess, tempfile

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

# ---- CSV: mode byte 0x00 = header detect, task detect, target last
csv = {
    "xor": "x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n",
    "iris": "sepal_length,sepal_width,petal_length,petal_width,species\n"
            "5.1,3.5,1.4,0.2,setosa\n7.0,3.2,4.7,1.4,versicolor\n6.3,3.3,6.0,2.5,virginica\n",
    "crlf_bom": "\ufeffa,b,y\r\n1,2,0\r\n3,4,1\r\n",
    "quoted": '# comment\n"x, one",x2,label\n"1",2,"cat"\n3,"4","dog ""big"""\n\n',
    "semicolon": "a;b;c;t\n1;2;3;0.5\n4;5;6;1.5\n",
    "ragged": "a,b,y\n1,2,0\n3,4\n",
    "nan": "a,b,y\n1,nan,0\n",
    "inf": "a,b,y\n1,2,inf\n",
    "header_only": "a,b,y\n",
    "empty": "",
    "open_quote": 'a,b,y\n1,"2,0\n',
    "regression2": "x,y1,y2\n1,2,3\n4,5,6\n",
}
for i, (name, text) in enumerate(csv.items()):
    put("fuzz_csv", name, bytes([0 if i % 3 else 9 * (i % 5)]) + text.encode())

# ---- IDX: mode 0 = images only, mode 1 = images + labels split at u16
def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload

images = idx(0x08, [3, 2, 2], bytes(range(0, 240, 20)))
labels = idx(0x08, [3], bytes([0, 2, 1]))
put("fuzz_idx", "u8_images", b"\x00" + images)
put("fuzz_idx", "u8_with_labels", b"\x01" + struct.pack(">H", len(images)) + images + labels)
put("fuzz_idx", "gz_with_labels", b"\x01" + struct.pack(">H", len(gzip.compress(images, mtime=0)))
    + gzip.compress(images, mtime=0) + gzip.compress(labels, mtime=0))
put("fuzz_idx", "f32", b"\x00" + idx(0x0D, [2, 2], struct.pack(">4f", 0.5, -1, 2, 3)))
put("fuzz_idx", "f64_i16", b"\x00" + idx(0x0E, [1, 2], struct.pack(">2d", 1.5, -2)))
put("fuzz_idx", "i32", b"\x00" + idx(0x0C, [2, 1], struct.pack(">2i", 7, -7)))
put("fuzz_idx", "huge_dim", b"\x00" + idx(0x08, [0x40000000, 1], b"\x00" * 4))
put("fuzz_idx", "truncated_gz", b"\x00" + gzip.compress(images, mtime=0)[:-6])
put("fuzz_idx", "bad_magic", b"\x00\x01\x02\x08\x01")

# ---- .net
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "..", "..", "examples", "article.net")) as f:
    put("fuzz_net", "article", f.read())
put("fuzz_net", "full", "backprop-net 1\ninputs 2\nloss xent\ninit he 3\n"
    "scaling-shift 0 1\nscaling-scale 1 0.5\nmeta data xor set\n"
    "layer 2 leaky-relu bias slope=0.1\nweights\n1 2\n3 4\nbiases 0.5 -0.5\n"
    "layer 2 softmax\nweights\n1 0\n0 1\nbiases 0 0\ninput 1 2\ntarget 0 1\nlr 0.5\n")
put("fuzz_net", "init_only", "backprop-net 1\ninputs 3\ninit xavier\nlayer 4 tanh nobias\n"
    "layer 1 sigmoid nobias\n")
put("fuzz_net", "missing_weight", "backprop-net 1\ninputs 2\nlayer 1 linear nobias\nweights\n1\n")
put("fuzz_net", "extra_weight", "backprop-net 1\ninputs 2\nlayer 1 linear nobias\nweights\n1 2 3\n")
put("fuzz_net", "bad_version", "backprop-net 2\n")

# ---- models: mode 0 = as is, 3 = fix the header length and CRC
with tempfile.TemporaryDirectory() as t:
    bp = os.path.join(here, "..", "..", "build", "backprop")
    subprocess.run([bp, "train", os.path.join(here, "..", "..", "data", "xor.csv"), "--hidden", "2",
                    "--epochs", "2", "--threads", "1", "--scale", "minmax", "--val", "0", "-q",
                    "-o", t + "/m.bpm", "--checkpoint", t + "/m.bpc"], check=True)
    subprocess.run([bp, "train", os.path.join(here, "..", "..", "data", "xor.csv"), "--hidden", "2",
                    "--epochs", "1", "--threads", "1", "--optimizer", "rprop", "--val", "0", "-q",
                    "-o", t + "/r.bpm", "--checkpoint", t + "/r.bpc"], check=True)
    model = open(t + "/m.bpm", "rb").read()
    ckpt = open(t + "/m.bpc", "rb").read()
    rprop = open(t + "/r.bpc", "rb").read()
put("fuzz_model", "model", b"\x00" + model)
put("fuzz_model", "model_fixup", b"\x03" + model)
put("fuzz_model", "checkpoint_adam", b"\x03" + ckpt)
put("fuzz_model", "checkpoint_rprop", b"\x00" + rprop)
put("fuzz_model", "bad_magic", b"\x00" + b"XBPM" + model[4:])
put("fuzz_model", "future_version", b"\x03" + model[:8] + struct.pack("<I", 9) + model[12:])
put("fuzz_model", "cut_short", b"\x00" + model[: len(model) // 2])
put("fuzz_model", "bad_crc", b"\x00" + model[:-1] + bytes([model[-1] ^ 0xFF]))

# ---- checkpoint: the bare trainer-state blob (TRST payload) of each checkpoint;
# fuzz_checkpoint wraps it in a valid file around a 2-2-1 net (9 parameters).
def trst(data):
    off = 20
    while off < len(data) - 4:
        tag, length = data[off:off + 4], struct.unpack("<Q", data[off + 8:off + 16])[0]
        if tag == b"TRST":
            return data[off + 16:off + 16 + length]
        off += 16 + length
    raise SystemExit("no TRST section")
put("fuzz_checkpoint", "state_adam", trst(ckpt))
put("fuzz_checkpoint", "state_rprop", trst(rprop))
