#!/usr/bin/env python3
"""Read a ForwardGradNative checkpoint (checkpoint.safetensors) with the Python standard library only.

    from forwardgrad_checkpoint import load, torch_linear_weight
    tensors, metadata = load("runs/x/checkpoint.safetensors")
    shape, values = tensors["final.weight"]        # shape (in, out), values: array('f'), row-major
    rows = torch_linear_weight(shape, values)       # (out, in) nested lists, for torch.nn.Linear.weight

Run as a script it prints the metadata and every tensor's shape; --json prints everything as JSON.
docs/CHECKPOINTS.md describes the file layout and how each weight maps to torch.nn.Linear.
"""
import array
import hashlib
import json
import struct
import sys


class CheckpointError(Exception):
    """The file is not a readable checkpoint."""


def load(path, verify=True):
    """Returns (tensors, metadata): tensors maps a name to (shape tuple, array('f') of its values in row-major
    order); metadata is the string map of the header. With verify, the SHA-256 of the tensor data is checked
    against the metadata's data_sha256 and the tensors must cover the data exactly once."""
    with open(path, "rb") as file:
        data = file.read()
    if len(data) < 8:
        raise CheckpointError(f"{path}: {len(data)} bytes, shorter than the 8-byte header length")
    (header_length,) = struct.unpack_from("<Q", data, 0)
    if header_length > len(data) - 8:
        raise CheckpointError(f"{path}: header length {header_length} exceeds the file")
    header = json.loads(data[8:8 + header_length].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    body = memoryview(data)[8 + header_length:]
    if verify and "data_sha256" in metadata and hashlib.sha256(body).hexdigest() != metadata["data_sha256"]:
        raise CheckpointError(f"{path}: the tensor data does not match data_sha256")
    tensors = {}
    ranges = []
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise CheckpointError(f"{path}: tensor {name} has dtype {entry['dtype']}; only F32 is written")
        shape = tuple(entry["shape"])
        begin, end = entry["data_offsets"]
        count = 1
        for dim in shape:
            count *= dim
        if not 0 <= begin <= end <= len(body) or end - begin != 4 * count:
            raise CheckpointError(f"{path}: tensor {name} has data offsets [{begin}, {end}) that do not fit shape {shape}")
        values = array.array("f")
        values.frombytes(body[begin:end])
        if sys.byteorder == "big":
            values.byteswap()
        tensors[name] = (shape, values)
        ranges.append((begin, end, name))
    if verify:
        covered = 0
        for begin, end, name in sorted(ranges):
            if begin != covered:
                raise CheckpointError(f"{path}: tensor {name} overlaps another or leaves a gap")
            covered = end
        if covered != len(body):
            raise CheckpointError(f"{path}: the tensors cover {covered} of {len(body)} data bytes")
    return tensors, metadata


def torch_linear_weight(shape, values):
    """A dense or token weight stored (in, out), as the (out, in) rows torch.nn.Linear.weight holds."""
    if len(shape) != 2:
        raise ValueError(f"expected a 2-D weight, got shape {shape}; group weights are (G, in/G, out/G): one block each")
    n, m = shape
    return [[values[i * m + j] for i in range(n)] for j in range(m)]


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    tensors, metadata = load(argv[1])
    if "--json" in argv[2:]:
        json.dump({"metadata": metadata,
                   "tensors": {name: {"shape": list(shape), "values": values.tolist()} for name, (shape, values) in tensors.items()}},
                  sys.stdout)
        return 0
    for key in sorted(metadata):
        text = metadata[key]
        print(f"{key}: {text if len(text) <= 100 else text[:97] + '...'}")
    for name, (shape, _) in tensors.items():
        print(f"{name} {list(shape)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
