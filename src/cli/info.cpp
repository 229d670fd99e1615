// `moxing info FILE`: what a GGUF file holds, without loading the model.
#include <fmt/format.h>

#include "cli/common.h"
#include "core/format.h"
#include "core/log.h"
#include "gguf/gguf_file.h"

namespace mx::cli {
namespace {

struct InfoOptions {
  std::string path;
  bool all_tensors = false;
  size_t max_items = 8;
};

int run_info(const InfoOptions& o) {
  auto file = gguf::File::open(o.path);
  if (!file) {
    MX_LOG_ERROR("{}", file.error().message);
    return kExitBadModel;
  }
  const gguf::File& f = *file;
  uint64_t tensor_bytes = 0;
  int64_t params = 0;
  for (const auto& t : f.tensors()) {
    tensor_bytes += t.n_bytes;
    params += t.n_elements();
  }
  fmt::print("file:       {}\n", o.path);
  fmt::print("gguf:       version {}, alignment {}, {} metadata keys, {} tensors\n", f.version(),
             f.alignment(), f.metadata().size(), f.tensors().size());
  fmt::print("size:       {} ({} parameters, {} of tensor data)\n", format_bytes(f.file_size()),
             format_count(static_cast<double>(params)), format_bytes(tensor_bytes));
  fmt::print("\nmetadata:\n");
  for (const auto& kv : f.metadata())
    fmt::print("  {:<44} {:<7} {}\n", kv.key, gguf::value_type_name(kv.value.type()),
               kv.value.to_display_string(o.max_items));
  if (f.tensors().empty()) return kExitOk;
  fmt::print("\ntensors:\n  {:<36} {:<6} {:<22} {:>10}\n", "name", "type", "shape", "size");
  size_t shown = 0;
  for (const auto& t : f.tensors()) {
    if (!o.all_tensors && shown++ >= 40) {
      fmt::print("  ... {} more (use --all)\n", f.tensors().size() - 40);
      break;
    }
    fmt::print("  {:<36} {:<6} {:<22} {:>10}\n", t.name, type_name(t.type),
               fmt::format("[{}]", fmt::join(t.dims, ", ")), format_bytes(t.n_bytes));
  }
  return kExitOk;
}

}  // namespace

Runner add_info(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  app.add_option("file", o->path, "GGUF file")->required();
  app.add_flag("--all", o->all_tensors, "List every tensor");
  app.add_option("--max-items", o->max_items, "Array items to show per key")->capture_default_str();
  return [o] { return run_info(*o); };
}

}  // namespace mx::cli
