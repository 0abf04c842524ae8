// describe_static_shared (shared_names.h): reads the executable's own ELF
// symbol table, on the error path only. A __shared__ variable is a
// function-local thread_local (qualifiers.h), so it is a TLS symbol whose
// value is its offset in the executable's TLS block, and its mangled name
// holds the function it belongs to.
#include "kernels/emulated/shared_names.h"

#include <cxxabi.h>
#include <elf.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/error.h"

namespace danlu::emu::checks {

namespace {

std::string demangle(const char* name) {
  int status = 0;
  char* text = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = status == 0 && text != nullptr ? text : name;
  std::free(text);
  return out;
}

// "danlu::(anonymous namespace)::kernel(float*)::tile" -> "`tile` of
// danlu::(anonymous namespace)::kernel(float*)".
std::string variable_of_function(const std::string& full) {
  const size_t cut = full.rfind("::");
  if (cut == std::string::npos) return detail::concat("`", full, "`");
  return detail::concat("`", full.substr(cut + 2), "` of ", full.substr(0, cut));
}

}  // namespace

std::string describe_static_shared(size_t offset) {
  std::ifstream file("/proc/self/exe", std::ios::binary);
  const std::vector<char> image((std::istreambuf_iterator<char>(file)), {});
  const auto fallback = detail::concat("static shared memory at offset ", offset);
  if (image.size() < sizeof(Elf64_Ehdr)) return fallback;
  Elf64_Ehdr header;
  std::memcpy(&header, image.data(), sizeof header);
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_shoff + header.e_shnum * sizeof(Elf64_Shdr) > image.size())
    return fallback;
  std::vector<Elf64_Shdr> sections(header.e_shnum);
  std::memcpy(sections.data(), image.data() + header.e_shoff, header.e_shnum * sizeof(Elf64_Shdr));
  for (const Elf64_Shdr& table : sections) {
    if (table.sh_type != SHT_SYMTAB || table.sh_link >= sections.size()) continue;
    const Elf64_Shdr& strings = sections[table.sh_link];
    if (table.sh_offset + table.sh_size > image.size() ||
        strings.sh_offset + strings.sh_size > image.size())
      continue;
    for (size_t at = 0; at + sizeof(Elf64_Sym) <= table.sh_size; at += sizeof(Elf64_Sym)) {
      Elf64_Sym symbol;
      std::memcpy(&symbol, image.data() + table.sh_offset + at, sizeof symbol);
      if (ELF64_ST_TYPE(symbol.st_info) != STT_TLS || offset < symbol.st_value ||
          offset >= symbol.st_value + symbol.st_size || symbol.st_name >= strings.sh_size)
        continue;
      const std::string name = demangle(image.data() + strings.sh_offset + symbol.st_name);
      return detail::concat("byte ", offset - symbol.st_value, " of __shared__ ",
                            variable_of_function(name));
    }
  }
  return fallback;
}

}  // namespace danlu::emu::checks
