// `moxing quantize IN OUT TYPE`: converts a model to a file type (Q4_K_M, Q8_0, F16, ...)
// with the tensor mix users know from llama.cpp's quantize.
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "cli/common.h"
#include "core/format.h"
#include "core/log.h"
#include "core/progress.h"
#include "model/quantize.h"

namespace mx::cli {
namespace {

struct QuantizeCliOptions {
  std::string in, out, type;
  int threads = 0;
  bool pure = false;
  bool allow_requantize = false;
  bool list = false;
  std::string split_max_size;
  int64_t split_max_tensors = 0;
};

// "500M", "2G", "64K" or plain bytes; decimal units, as gguf-split reads them.
std::optional<uint64_t> parse_size(const std::string& text) {
  size_t used = 0;
  uint64_t n = 0;
  try {
    n = std::stoull(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const std::string unit = text.substr(used);
  static const std::map<std::string, uint64_t> kUnits = {
      {"", 1}, {"K", 1000}, {"M", 1000'000}, {"G", 1000'000'000}, {"T", 1000'000'000'000}};
  const auto it = kUnits.find(unit);
  if (it == kUnits.end() || n == 0 || n > UINT64_MAX / it->second) return std::nullopt;
  return n * it->second;
}

int run_quantize(const QuantizeCliOptions& o) {
  if (o.list) {
    for (const FileTypeInfo& f : file_types()) fmt::print("{:8} {:5} {}\n", f.name, type_name(f.base), f.description);
    return kExitOk;
  }
  if (o.in.empty() || o.out.empty() || o.type.empty()) {
    MX_LOG_ERROR("quantize needs IN OUT TYPE (types: {})", file_type_names());
    return kExitUsage;
  }
  const auto file_type = find_file_type(o.type);
  if (!file_type) {
    MX_LOG_ERROR("unknown file type '{}'; types: {}", o.type, file_type_names());
    return kExitUsage;
  }
  if (o.in == o.out) {
    MX_LOG_ERROR("the output would overwrite the input: choose another file name");
    return kExitUsage;
  }
  gguf::SplitLimits split{.max_tensors = o.split_max_tensors};
  if (!o.split_max_size.empty()) {
    const std::optional<uint64_t> size = parse_size(o.split_max_size);
    if (!size) {
      MX_LOG_ERROR("--split-max-size '{}' is not a size such as 500M or 2G", o.split_max_size);
      return kExitUsage;
    }
    split.max_bytes = *size;
  }
  if (o.split_max_tensors < 0) {
    MX_LOG_ERROR("--split-max-tensors must be positive");
    return kExitUsage;
  }
  std::optional<ProgressBar> bar;  // created once the total is known
  std::map<std::string, int> written;  // type name -> tensors
  QuantizeOptions options{
      .file_type = *file_type,
      .pure = o.pure,
      .allow_requantize = o.allow_requantize,
      .n_threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())),
      .split = split,
      .progress =
          [&](uint64_t done, uint64_t total) {
            if (!bar) bar.emplace(fmt::format("quantizing to {}", file_type->name), total, true);
            bar->update(done);
          },
      .on_tensor =
          [&](std::string_view name, GgmlType from, GgmlType to, GgmlType wanted) {
            ++written[std::string(type_name(to))];
            if (to != wanted)
              MX_LOG_INFO("{}: rows of this length do not fit {} blocks, using {}", name, type_name(wanted),
                          type_name(to));
            MX_LOG_DEBUG("{}: {} -> {}", name, type_name(from), type_name(to));
          },
  };
  const Expected<std::string> in = resolve_model_argument(o.in);  // a file, or a name in the cache
  if (!in) {
    MX_LOG_ERROR("{}", in.error().message);
    return kExitBadModel;
  }
  auto report = quantize_model(*in, o.out, options);
  if (!report) {
    MX_LOG_ERROR("{}", report.error().message);
    return kExitFailure;
  }
  if (bar) bar->finish();
  std::string mix;
  for (const auto& [type, count] : written) mix += fmt::format("{}{} {}", mix.empty() ? "" : ", ", count, type);
  MX_LOG_INFO("wrote {} ({}): {} -> {} of tensor data; tensors: {}",
              report->files.size() > 1 ? fmt::format("{} shards", report->files.size())
                                       : report->files.at(0),
              file_type->name, format_bytes(report->bytes_in), format_bytes(report->bytes_out), mix);
  if (report->files.size() > 1)
    for (const std::string& f : report->files) MX_LOG_INFO("  {}", f);
  return kExitOk;
}

}  // namespace

Runner add_quantize(CLI::App& app) {
  auto o = std::make_shared<QuantizeCliOptions>();
  app.add_option("in", o->in, "Input GGUF model (F32, F16 or BF16 weights; of a split model, the first shard)");
  app.add_option("out", o->out, "Output GGUF file");
  app.add_option("type", o->type, "File type: " + file_type_names());
  app.add_option("-t,--threads", o->threads, "Threads (default: all cores)");
  app.add_flag("--pure", o->pure, "Every weight matrix gets the base type (no mix)");
  app.add_flag("--allow-requantize", o->allow_requantize, "Accept an input that is already quantized");
  app.add_flag("--list", o->list, "List the file types");
  app.add_option("--split-max-size", o->split_max_size,
                 "Write a split set of shards of at most this size (e.g. 500M, 2G): OUT.gguf becomes "
                 "OUT-00001-of-0000N.gguf, ...");
  app.add_option("--split-max-tensors", o->split_max_tensors, "Write a split set of at most N tensors per shard");
  return [o] { return run_quantize(*o); };
}

}  // namespace mx::cli
