"""Section sizes and contents of a cubin (an ELF64 file), read with the
standard library. ptxas no longer prints a kernel's constant bank, but the
cubin holds it as the section .nv.constant0.<kernel>: the kernel's
parameters plus what the driver reserves."""

import struct


def sections(path):
    """{section name: bytes} of the ELF64 little-endian file at path."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not a little-endian ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def header(i):
        # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size
        name, kind, _, _, offset, size = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
        return name, kind, offset, size

    _, _, str_offset, _ = header(shstrndx)
    result = {}
    for i in range(shnum):
        name_offset, kind, offset, size = header(i)
        end = data.index(b"\0", str_offset + name_offset)
        name = data[str_offset + name_offset:end].decode()
        # SHT_NOBITS (8) sections occupy no file bytes: report their size only.
        result[name] = bytes(size) if kind == 8 else data[offset:offset + size]
    return result


def constant_bank_sizes(path):
    """{mangled kernel name: bytes of its constant bank 0}."""
    prefix = ".nv.constant0."
    return {name[len(prefix):]: len(body) for name, body in sections(path).items()
            if name.startswith(prefix)}
