// safetensors reading and writing. Layout: a u64 little-endian header length
// N, N bytes of UTF-8 JSON {name: {"dtype", "shape", "data_offsets"}, ...,
// "__metadata__": {str: str}} padded with spaces so the data starts 8-byte
// aligned, then the data buffer, which the tensors tile without holes.
#include "engine/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/error.h"
#include "engine/io/atomic_file.h"

namespace danlu::io {

// Tensor bytes go to and from the file as they lie in memory.
static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swaps");

namespace {

using nlohmann::json;

constexpr const char* kMetadataKey = "__metadata__";
constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit

const char* safetensors_dtype(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::i64: return "I64";
    case DType::i32: return "I32";
  }
  return "?";
}

// Dtypes of the spec that danlu has no tensor type for: "convert it", not "corrupt".
bool other_spec_dtype(const std::string& s) {
  static const std::set<std::string> kOthers = {"BOOL", "U8",  "I8",  "F8_E5M2", "F8_E4M3",
                                                "I16",  "U16", "F16", "BF16",    "U32",
                                                "U64"};
  return kOthers.count(s) != 0;
}

std::string errno_text() { return std::strerror(errno); }

// zlib's crc32 takes at most 4 GiB at a time.
uint32_t crc32_update(uint32_t crc, const void* data, uint64_t n) {
  const Bytef* p = static_cast<const Bytef*>(data);
  for (uint64_t left = n; left > 0;) {
    const uInt chunk = static_cast<uInt>(std::min<uint64_t>(left, 1u << 30));
    crc = static_cast<uint32_t>(::crc32(crc, p, chunk));
    p += chunk, left -= chunk;
  }
  return crc;
}

std::string hex32(uint32_t v) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", v);
  return text;
}

// A file descriptor that closes itself.
struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// ---- reading ---------------------------------------------------------------------

// One tensor as the header describes it; offsets are relative to the data buffer.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

void read_at(int fd, void* out, uint64_t n, uint64_t offset, const std::string& path) {
  char* p = static_cast<char*>(out);
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, std::min<uint64_t>(n, 1u << 30), static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    DANLU_CHECK(r > 0, "cannot read ", path, ": ", r < 0 ? errno_text() : "it got shorter",
                " at byte ", offset, "; was it changed while being read?");
    p += r;
    n -= r;
    offset += r;
  }
}

// Parses the header, refusing duplicate keys (which JSON parsers silently
// collapse); returns the top-level keys in header order.
json parse_header(const std::string& text, const std::string& path,
                  std::vector<std::string>& keys) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  auto track = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == json::parse_event_t::object_end) open_objects.pop_back();
    if (event == json::parse_event_t::key) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second && duplicate.empty()) duplicate = key;
      if (depth == 1) keys.push_back(key);
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, track);
  } catch (const json::exception& e) {  // parse errors, and numbers such as 1e999 (out_of_range)
    const std::string what = e.what();
    DANLU_FAIL(path, ": the header is not valid JSON (", what.substr(what.find("] ") + 2),
               "); the file is corrupt or not a safetensors file");
  }
  DANLU_CHECK(duplicate.empty(), path, ": the header names '", duplicate,
              "' twice; the file is corrupt");
  DANLU_CHECK(header.is_object(), path, ": the header is JSON but not an object; ",
              "the file is corrupt or not a safetensors file");
  return header;
}

uint64_t header_uint(const json& j, const std::string& where) {
  DANLU_CHECK(j.is_number_unsigned() && j.get<uint64_t>() <= uint64_t(INT64_MAX), where,
              " must be a non-negative integer, got ", j.dump());
  return j.get<uint64_t>();
}

Entry parse_entry(const std::string& name, const json& j, const std::string& path) {
  const std::string where = path + ": tensor '" + name + "'";
  DANLU_CHECK(j.is_object() && j.contains("dtype") && j.contains("shape") &&
                  j.contains("data_offsets"),
              where, " needs an object with dtype, shape and data_offsets, got ", j.dump());
  Entry e{name, DType::f32, Shape(), 0, 0};
  const json& dtype = j["dtype"];
  DANLU_CHECK(dtype.is_string(), where, ": dtype must be a string, got ", dtype.dump());
  const std::string d = dtype.get<std::string>();
  if (d == "F32") e.dtype = DType::f32;
  else if (d == "F64") e.dtype = DType::f64;
  else if (d == "I64") e.dtype = DType::i64;
  else if (d == "I32") e.dtype = DType::i32;
  else if (other_spec_dtype(d))
    DANLU_FAIL(where, " has dtype ", d, ", which danlu cannot hold; convert it to F32, F64, ",
               "I64 or I32 before saving (in PyTorch: t.float())");
  else
    DANLU_FAIL(where, " has the unknown dtype '", d, "'; the file is corrupt");

  const json& shape = j["shape"];
  DANLU_CHECK(shape.is_array(), where, ": shape must be an array, got ", shape.dump());
  DANLU_CHECK(shape.size() <= size_t(Shape::kMaxDims), where, " has ", shape.size(),
              " dimensions; danlu supports at most ", Shape::kMaxDims);
  std::vector<int64_t> sizes;
  uint64_t bytes = element_size(e.dtype);
  bool overflow = false;
  for (const json& s : shape) {
    sizes.push_back(static_cast<int64_t>(header_uint(s, where + ": each size in shape")));
    overflow |= __builtin_mul_overflow(bytes, uint64_t(sizes.back()), &bytes);
  }
  DANLU_CHECK(!overflow, where, " has shape ", shape.dump(), " of ", d,
              ", which needs more than 2^64 bytes; the file is corrupt");
  try {
    e.shape = Shape(sizes);
  } catch (const Error& error) {  // sizes beside a 0 whose product overflows
    DANLU_FAIL(where, ": ", error.what(), "; the file is corrupt");
  }

  const json& offsets = j["data_offsets"];
  DANLU_CHECK(offsets.is_array() && offsets.size() == 2, where,
              ": data_offsets must be [begin, end], got ", offsets.dump());
  e.begin = header_uint(offsets[0], where + ": data_offsets[0]");
  e.end = header_uint(offsets[1], where + ": data_offsets[1]");
  DANLU_CHECK(e.begin <= e.end, where, ": data_offsets [", e.begin, ", ", e.end,
              "] end before they begin; the file is corrupt");
  DANLU_CHECK(bytes == e.end - e.begin, where, " has shape ", e.shape, " of ", d, ", which needs ",
              bytes, " bytes, but its data_offsets [", e.begin, ", ", e.end, "] hold ",
              e.end - e.begin, "; the file is corrupt");
  return e;
}

std::map<std::string, std::string> parse_metadata(const json& j, const std::string& path) {
  DANLU_CHECK(j.is_object(), path, ": __metadata__ must be an object of strings, got ", j.dump());
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : j.items()) {
    DANLU_CHECK(value.is_string(), path, ": __metadata__ must map strings to strings, but '", key,
                "' is ", value.dump());
    out[key] = value.get<std::string>();
  }
  return out;
}

// Sorts the entries into file order and checks that they tile [0, data_bytes).
void check_layout(std::vector<Entry>& entries, uint64_t data_bytes, const std::string& path) {
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    DANLU_CHECK(e.begin >= covered, path, ": tensor '", e.name, "' (bytes [", e.begin, ", ",
                e.end, ")) overlaps tensor '", previous ? previous->name : "", "' (bytes [",
                previous ? previous->begin : 0, ", ", covered, ")); the file is corrupt");
    DANLU_CHECK(e.begin == covered, path, ": bytes [", covered, ", ", e.begin,
                ") of the data belong to no tensor (the data_offsets leave a hole before '",
                e.name, "'); the file is corrupt");
    covered = e.end;
    previous = &e;
  }
  DANLU_CHECK(covered <= data_bytes, path, " is truncated: its header says ", covered,
              " bytes of tensor data, the file has ", data_bytes,
              "; it was not written completely — use an earlier checkpoint or fetch it again");
  DANLU_CHECK(covered == data_bytes, path, ": the file has ", data_bytes - covered,
              " bytes after the last tensor's data that no tensor owns; the file is corrupt");
}

// ---- writing ---------------------------------------------------------------------

// The JSON header as the reference implementation writes it: __metadata__
// first, then the tensors in order, compact, padded with spaces to 8 bytes.
std::string make_header(const std::vector<std::pair<std::string, Tensor>>& tensors,
                        const std::map<std::string, std::string>& metadata,
                        const std::string& path) {
  try {
    std::string out = "{";
    if (!metadata.empty())
      out += std::string("\"") + kMetadataKey + "\":" + json(metadata).dump() + ",";
    uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
      const uint64_t bytes = t.numel() * element_size(t.dtype());
      out += json(name).dump() + ":{\"dtype\":\"" + safetensors_dtype(t.dtype()) +
             "\",\"shape\":" + json(t.shape().vec()).dump() + ",\"data_offsets\":[" +
             std::to_string(offset) + "," + std::to_string(offset + bytes) + "]},";
      offset += bytes;
    }
    if (out.size() > 1) out.pop_back();
    out += "}";
    out.append((8 - out.size() % 8) % 8, ' ');
    return out;
  } catch (const json::type_error& e) {  // a name or metadata string that is not UTF-8
    DANLU_FAIL("cannot save ", path, ": a tensor name or metadata string is not valid UTF-8 (",
               e.what(), ")");
  }
}

}  // namespace

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata, bool checksum) {
  std::set<std::string> names;
  for (const auto& [name, t] : tensors) {
    DANLU_CHECK(name != kMetadataKey, "cannot save ", path, ": '", kMetadataKey,
                "' is reserved for the metadata and cannot name a tensor");
    DANLU_CHECK(names.insert(name).second, "cannot save ", path, ": two tensors are named '", name,
                "'");
    DANLU_CHECK(t.defined(), "cannot save ", path, ": tensor '", name, "' is undefined");
  }
  // The header holds the checksum of the data, so the data is on the host first.
  std::vector<Tensor> host;
  uint32_t crc = ::crc32(0, nullptr, 0);
  for (const auto& [name, t] : tensors) {
    host.push_back(t.to(Device::cpu()));
    crc = crc32_update(crc, host.back().raw_data(), host.back().numel() * element_size(t.dtype()));
  }
  std::map<std::string, std::string> meta = metadata;
  if (checksum) meta[kChecksumKey] = hex32(crc);
  else meta.erase(kChecksumKey);
  const std::string header = make_header(tensors, meta, path);
  replace_file(path, [&](AtomicWriter& file) {
    const uint64_t n = header.size();  // little-endian, as the host (see the static_assert)
    file.write(&n, sizeof n);
    file.write(header);
    for (const Tensor& t : host) file.write(t.raw_data(), t.numel() * element_size(t.dtype()));
  });
}

SafetensorsFile load_safetensors(const std::string& path) {
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  DANLU_CHECK(f.fd >= 0, "cannot open ", path, ": ", errno_text(), "; check the path");
  struct stat st {};
  DANLU_CHECK(::fstat(f.fd, &st) == 0, "cannot read ", path, ": ", errno_text());
  DANLU_CHECK(S_ISREG(st.st_mode), path,
              " is not a regular file; give the path of a .safetensors file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  DANLU_CHECK(size >= 8, path, " is too short to be a safetensors file: it has ", size,
              " bytes, the header length alone takes 8; it was not written completely");

  uint64_t n = 0;
  read_at(f.fd, &n, 8, 0, path);
  DANLU_CHECK(n <= kMaxHeaderBytes, path, " is not a safetensors file: its first 8 bytes give a ",
              "header length of ", n, ", more than the ", kMaxHeaderBytes,
              " bytes the format allows");
  DANLU_CHECK(n <= size - 8, path, " is truncated: its header length says ", n,
              " bytes, the file has ", size - 8,
              " after the length; it was not written completely — use an earlier checkpoint or "
              "fetch it again");
  std::string text(n, '\0');
  read_at(f.fd, text.data(), n, 8, path);

  std::vector<std::string> keys;
  const json header = parse_header(text, path, keys);
  SafetensorsFile out;
  std::vector<Entry> entries;
  for (const std::string& key : keys) {
    if (key == kMetadataKey) out.metadata = parse_metadata(header[key], path);
    else entries.push_back(parse_entry(key, header[key], path));
  }
  const uint64_t data_start = 8 + n;
  check_layout(entries, size - data_start, path);

  // In file order the tensors tile the data buffer, so their bytes in turn are its checksum.
  uint32_t crc = ::crc32(0, nullptr, 0);
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    if (e.end > e.begin) read_at(f.fd, t.raw_data(), e.end - e.begin, data_start + e.begin, path);
    crc = crc32_update(crc, t.raw_data(), e.end - e.begin);
    out.tensors.emplace_back(e.name, std::move(t));
  }
  const auto stored = out.metadata.find(kChecksumKey);
  if (stored != out.metadata.end()) {
    DANLU_CHECK(stored->second == hex32(crc), path, ": the tensor data does not match its checksum (",
                kChecksumKey, " ", stored->second, ", computed ", hex32(crc),
                "); the file is damaged — use an earlier checkpoint or fetch it again");
    out.metadata.erase(stored);
  }
  return out;
}

}  // namespace danlu::io
