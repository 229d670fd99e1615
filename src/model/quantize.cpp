#include "model/quantize.h"

#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "gguf/split.h"
#include "model/arch.h"
#include "quant/quant.h"

namespace mx {
namespace {

constexpr int64_t kChunkElements = 1 << 20;  // rows converted per parallel step, ~4 MB of floats

MixShape mix_shape(const gguf::File& file) {
  MixShape shape;
  const std::string arch = file.get_string("general.architecture").value_or("");
  shape.n_layer = file.get_int(key_name(Key::kBlockCount, arch)).value_or(0);
  shape.n_expert = file.get_int(key_name(Key::kExpertCount, arch)).value_or(0);
  const int64_t n_head = file.get_int(key_name(Key::kHeadCount, arch)).value_or(1);
  shape.n_gqa = n_head / std::max<int64_t>(1, file.get_int(key_name(Key::kHeadCountKv, arch)).value_or(n_head));
  shape.has_output = file.find_tensor("output.weight") != nullptr;
  shape.falcon = arch == "falcon";
  return shape;
}

// Fills `out` with the tensor's rows converted to `to`, in chunks spread over the pool.
void convert_rows(const gguf::TensorInfo& t, GgmlType to, std::span<uint8_t> out, ThreadPool& pool,
                  const std::function<void(uint64_t)>& consumed) {
  const int64_t n = t.dims.empty() ? 1 : t.dims[0];
  const int64_t rows = t.n_rows();
  const size_t in_row = row_size(t.type, n), out_row = row_size(to, n);
  const int64_t chunk = std::max<int64_t>(1, kChunkElements / n);
  for (int64_t first = 0; first < rows; first += chunk) {
    const int64_t count = std::min(chunk, rows - first);
    pool.parallel_for(count, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> row(static_cast<size_t>(n));
      for (int64_t r = first + begin; r < first + end; ++r) {
        dequantize_row(t.type, t.data + r * in_row, row.data(), n);
        quantize_row(to, row.data(), out.data() + r * out_row, n);
      }
    });
    consumed(static_cast<uint64_t>(count) * in_row);
  }
}

}  // namespace

Expected<QuantizeReport> quantize_model(const std::string& in_path, const std::string& out_path,
                                        const QuantizeOptions& options) {
  gguf::File file;
  MX_TRY_ASSIGN(file, gguf::File::open(in_path));
  const QuantMix mix(options.file_type, mix_shape(file), options.pure);

  gguf::Writer writer(file.alignment());
  // A split input's keys describe its own shards, not the output.
  for (const gguf::KeyValue& kv : file.metadata())
    if (kv.key != "general.alignment" && kv.key != gguf::kSplitNoKey && kv.key != gguf::kSplitCountKey &&
        kv.key != gguf::kSplitTensorsKey)
      writer.set(kv.key, kv.value);
  writer.set("general.file_type", {static_cast<uint32_t>(options.file_type.id)});
  writer.set("general.quantization_version", {uint32_t{2}});

  QuantizeReport report;
  struct Step {
    const gguf::TensorInfo* tensor;
    GgmlType to;
  };
  std::vector<Step> plan;
  for (const gguf::TensorInfo& t : file.tensors()) {
    GgmlType to = t.type, wanted = t.type;
    if (QuantMix::is_weight_matrix(t.name, t.dims)) {
      const TensorChoice choice = mix.choose(t.name, t.dims);
      to = choice.type;
      wanted = choice.wanted;
    }
    if (to != t.type) {
      if (!can_dequantize(t.type))
        return make_error("{}: cannot read tensors of type {}", t.name, type_name(t.type));
      if (!can_quantize(to)) return make_error("{}: cannot write type {}", t.name, type_name(to));
      const bool from_float = t.type == GgmlType::kF32 || t.type == GgmlType::kF16 || t.type == GgmlType::kBF16;
      if (!from_float && !options.allow_requantize)
        return make_error("{} is already quantized ({}); converting it again loses quality "
                          "(allow it with --allow-requantize)", t.name, type_name(t.type));
      ++report.converted;
    }
    if (to != wanted) ++report.fallbacks;
    if (options.on_tensor) options.on_tensor(t.name, t.type, to, wanted);
    report.bytes_in += t.n_bytes;
    report.bytes_out += row_size(to, t.n_elements());
    plan.push_back({&t, to});
  }

  ThreadPool pool(std::max(1, options.n_threads));
  uint64_t done = 0;
  auto consumed = [&](uint64_t bytes) {
    done += bytes;
    if (options.progress) options.progress(done, report.bytes_in);
  };
  for (const Step& step : plan) {
    const gguf::TensorInfo& t = *step.tensor;
    if (step.to == t.type) {
      writer.add_tensor(t.name, t.type, t.dims, [&t, &consumed, &file](std::span<uint8_t> out) {
        std::copy(t.data, t.data + out.size(), out.begin());
        file.drop_tensor_pages(t);
        consumed(t.n_bytes);
      });
    } else {
      writer.add_tensor(t.name, step.to, t.dims, [&t, &pool, &consumed, &file, to = step.to](std::span<uint8_t> out) {
        convert_rows(t, to, out, pool, consumed);
        file.drop_tensor_pages(t);
      });
    }
  }
  MX_TRY_ASSIGN(report.files, gguf::write_split(writer, out_path, options.split));
  return report;
}

}  // namespace mx
