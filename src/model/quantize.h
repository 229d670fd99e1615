// Converts a GGUF model to another file type (`moxing quantize`): each weight matrix to the
// type the file type's mix gives it, everything else copied. Rows are converted in
// parallel and streamed to the output, so a model never sits in memory twice. The input may
// be a split set (its first shard); the output may be one (QuantizeOptions::split).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"
#include "gguf/split_writer.h"
#include "model/quant_mix.h"

namespace mx {

struct QuantizeOptions {
  FileTypeInfo file_type;
  bool pure = false;              // no mix: every weight matrix gets the base type
  bool allow_requantize = false;  // accept already-quantized inputs (quality suffers)
  int n_threads = 1;
  gguf::SplitLimits split;  // any limit: write a split set named from the output path
  // Called as rows are converted, with the bytes of input consumed so far and the total.
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Called once per tensor when the plan is made: name, input type, output type, and the
  // type the mix wanted (differs when the row length forced a fallback).
  std::function<void(std::string_view name, GgmlType from, GgmlType to, GgmlType wanted)> on_tensor;
};

struct QuantizeReport {
  uint64_t bytes_in = 0;   // tensor data read
  uint64_t bytes_out = 0;  // tensor data written
  int converted = 0;       // tensors whose type changed
  int fallbacks = 0;       // tensors that could not take the type the mix wanted
  std::vector<std::string> files;  // written: the output, or the shards of a split set
};

Expected<QuantizeReport> quantize_model(const std::string& in_path, const std::string& out_path,
                                        const QuantizeOptions& options);

}  // namespace mx
