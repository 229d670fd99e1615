// libFuzzer target: arbitrary bytes through the GGUF parser. A file that parses must be
// safe to use (every value displays, every tensor's data is readable end to end, lookups
// agree with the lists) and must survive a trip through the writer unchanged; then the
// model's config and weight views are read from it as loading does (metadata policy,
// experts, rope scaling, tensor shapes), which must end in a model or a clear error.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "gguf/split.h"
#include "model/config.h"
#include "model/weights.h"

namespace {

using mx::gguf::Value;

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "gguf_fuzz: %s\n", what);
  std::abort();
}

// Bit-exact, so a NaN read from the file equals itself.
bool same_value(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        const T& y = std::get<T>(b.data);
        if constexpr (std::is_same_v<T, mx::gguf::Array>) {
          if (x.elem_type != y.elem_type || x.items.size() != y.items.size()) return false;
          for (size_t i = 0; i < x.items.size(); ++i)
            if (!same_value(x.items[i], y.items[i])) return false;
          return true;
        } else if constexpr (std::is_floating_point_v<T>) {
          return std::memcmp(&x, &y, sizeof(T)) == 0;
        } else {
          return x == y;
        }
      },
      a.data);
}

// Whatever the reader accepts, the writer writes back, and it reads back the same.
void check_rewrite(const mx::gguf::File& f) {
  mx::gguf::Writer w(f.alignment());
  for (const mx::gguf::KeyValue& kv : f.metadata()) w.set(kv.key, kv.value);
  for (const mx::gguf::TensorInfo& t : f.tensors())
    w.add_tensor(t.name, t.type, t.dims, std::vector<uint8_t>(t.data, t.data + t.n_bytes));
  const std::vector<uint8_t> bytes = w.to_bytes();
  require(!bytes.empty(), "the writer rejects a file the reader accepted");
  auto again = mx::gguf::File::parse(bytes, "rewritten.gguf");
  require(again.ok(), "the reader rejects what the writer wrote");
  require(again->alignment() == f.alignment(), "alignment changed");
  require(again->metadata().size() == f.metadata().size(), "metadata count changed");
  for (size_t i = 0; i < f.metadata().size(); ++i) {
    require(again->metadata()[i].key == f.metadata()[i].key, "key changed");
    require(same_value(again->metadata()[i].value, f.metadata()[i].value), "value changed");
  }
  require(again->tensors().size() == f.tensors().size(), "tensor count changed");
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const mx::gguf::TensorInfo& a = f.tensors()[i];
    const mx::gguf::TensorInfo& b = again->tensors()[i];
    require(a.name == b.name && a.type == b.type && a.dims == b.dims && a.n_bytes == b.n_bytes,
            "tensor info changed");
    require(std::memcmp(a.data, b.data, a.n_bytes) == 0, "tensor data changed");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = mx::gguf::File::parse(std::span<const uint8_t>(data, size), "fuzz.gguf");
  if (!file) {
    require(!file.error().message.empty(), "empty error message");
    return 0;
  }
  const mx::gguf::File& f = *file;
  size_t sink = 0;
  for (const mx::gguf::KeyValue& kv : f.metadata()) {
    sink += kv.value.to_display_string().size();
    require(f.find(kv.key) == &kv.value, "find() disagrees with metadata()");
  }
  for (const mx::gguf::TensorInfo& t : f.tensors()) {
    require(t.n_bytes > 0 && t.data >= data && t.data + t.n_bytes <= data + size,
            "tensor data outside the input");
    require(f.find_tensor(t.name) == &t, "find_tensor() disagrees with tensors()");
    require(t.n_elements() > 0 && t.n_rows() > 0, "tensor without elements");
    sink += t.data[0] + t.data[t.n_bytes - 1];  // ASan catches a read past the input
  }
  // Split keys read from any file give a place inside the set or a clear error.
  auto split = mx::gguf::read_split_info(f);
  require(split.ok() || !split.error().message.empty(), "empty split error");
  if (split.ok() && *split)
    require((*split)->no >= 0 && (*split)->no < (*split)->count && (*split)->n_tensors >= 0, "split info out of range");
  volatile size_t keep = sink;  // the reads above must not be optimized away
  (void)keep;
  // A tensorless file may declare any power-of-two alignment; the writer would pad to it.
  if (f.alignment() <= 65536) check_rewrite(f);
  static const mx::KernelTable kernels = mx::reference_kernels();
  auto config = mx::ModelConfig::from_gguf(f);
  if (!config) {
    require(!config.error().message.empty(), "empty config error");
    return 0;
  }
  auto weights = mx::ModelWeights::bind(f, *config, kernels);
  require(weights.ok() || !weights.error().message.empty(), "empty weights error");
  return 0;
}
