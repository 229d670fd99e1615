#include "model/quant_mix.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace mx {
namespace {

using enum GgmlType;

constexpr std::array kFileTypes = {
    FileTypeInfo{FileType::kF32, "F32", kF32, "32-bit floats, no conversion loss"},
    FileTypeInfo{FileType::kF16, "F16", kF16, "16-bit floats"},
    FileTypeInfo{FileType::kBF16, "BF16", kBF16, "bfloat16"},
    FileTypeInfo{FileType::kQ8_0, "Q8_0", kQ8_0, "8.5 bits per weight"},
    FileTypeInfo{FileType::kQ6_K, "Q6_K", kQ6_K, "6.6 bits per weight"},
    FileTypeInfo{FileType::kQ5_K_M, "Q5_K_M", kQ5_K, "Q5_K, some attn_v/ffn_down Q6_K"},
    FileTypeInfo{FileType::kQ5_K_S, "Q5_K_S", kQ5_K, "Q5_K throughout"},
    FileTypeInfo{FileType::kQ5_1, "Q5_1", kQ5_1, "6 bits per weight"},
    FileTypeInfo{FileType::kQ5_0, "Q5_0", kQ5_0, "5.5 bits per weight"},
    FileTypeInfo{FileType::kQ4_K_M, "Q4_K_M", kQ4_K, "Q4_K, some attn_v/ffn_down Q6_K"},
    FileTypeInfo{FileType::kQ4_K_S, "Q4_K_S", kQ4_K, "Q4_K, first ffn_down/attn_v Q5_K"},
    FileTypeInfo{FileType::kQ4_1, "Q4_1", kQ4_1, "5 bits per weight"},
    FileTypeInfo{FileType::kQ4_0, "Q4_0", kQ4_0, "4.5 bits per weight"},
    FileTypeInfo{FileType::kIQ4_NL, "IQ4_NL", kIQ4_NL, "4.5 bits per weight, non-linear grid"},
    FileTypeInfo{FileType::kQ3_K_L, "Q3_K_L", kQ3_K, "Q3_K, attn_v/attn_output/ffn_down Q5_K"},
    FileTypeInfo{FileType::kQ3_K_M, "Q3_K_M", kQ3_K, "Q3_K, attn_v/attn_output/ffn_down Q4_K-Q5_K"},
    FileTypeInfo{FileType::kQ3_K_S, "Q3_K_S", kQ3_K, "Q3_K throughout"},
    FileTypeInfo{FileType::kQ2_K, "Q2_K", kQ2_K, "Q2_K, attn_v/attn_output/ffn_down Q3_K-Q4_K"},
    FileTypeInfo{FileType::kMXFP4_MOE, "MXFP4_MOE", kMXFP4, "experts MXFP4 (gpt-oss's format), the rest Q8_0"},
};

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// The N of "blk.N.", or -1.
int64_t layer_of(std::string_view name) {
  if (!name.starts_with("blk.")) return -1;
  int64_t layer = -1;
  const char* first = name.data() + 4;
  const auto [end, ec] = std::from_chars(first, name.data() + name.size(), layer);
  return ec == std::errc() && end < name.data() + name.size() && *end == '.' ? layer : -1;
}

// Layers that get more bits in the _M mixes: the first and last eighth, and every third
// one between.
bool uses_more_bits(int64_t layer, int64_t n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

// A type whose blocks divide rows the K-quants' 256-element blocks do not.
GgmlType fallback_for(GgmlType t) {
  switch (t) {
    case kQ2_K: case kQ3_K: return kIQ4_NL;
    case kQ4_K: return kQ5_0;
    case kQ5_K: return kQ5_1;
    case kQ6_K: return kQ8_0;
    default: return kF16;  // 32-element types on rows of odd length: keep 16-bit floats
  }
}

}  // namespace

std::span<const FileTypeInfo> file_types() { return kFileTypes; }

std::optional<FileTypeInfo> find_file_type(std::string_view name) {
  std::string key = upper(name);
  if (key == "Q3_K") key = "Q3_K_M";
  if (key == "Q4_K") key = "Q4_K_M";
  if (key == "Q5_K") key = "Q5_K_M";
  for (const FileTypeInfo& f : kFileTypes)
    if (f.name == key) return f;
  return std::nullopt;
}

std::string file_type_names() {
  std::string out;
  for (const FileTypeInfo& f : kFileTypes) out += (out.empty() ? "" : ", ") + std::string(f.name);
  return out;
}

QuantMix::QuantMix(FileTypeInfo file_type, MixShape shape, bool pure)
    : file_type_(file_type), shape_(shape), pure_(pure) {}

bool QuantMix::is_weight_matrix(std::string_view name, const std::vector<int64_t>& dims) {
  if (dims.size() < 2 || !ends_with(name, "weight")) return false;
  for (std::string_view keep : {"ffn_gate_inp.weight", "position_embd", "token_types", "rope_freqs",
                                "attn_rel_b", "ssm_conv1d", "ssm_a", "ssm_d"})
    if (contains(name, keep)) return false;
  return true;
}

GgmlType QuantMix::mixed_type(std::string_view name, int64_t row_length) const {
  using FT = FileType;
  const GgmlType base = file_type_.base;
  const FileType ft = file_type_.id;
  const bool classifier = name == "output.weight" || (!shape_.has_output && name == "token_embd.weight");
  if (classifier) {
    if (shape_.falcon || row_length % traits(base).block_size != 0) return kQ8_0;
    return base == kQ8_0 ? kQ8_0 : kQ6_K;
  }
  const int64_t layer = layer_of(name), n_layer = shape_.n_layer;
  const bool eight_experts = shape_.n_expert == 8, falcon = shape_.falcon;
  const bool grouped = shape_.n_gqa >= 4;  // small attn_v: more bits cost little
  if (contains(name, "attn_v.weight")) {
    if (eight_experts) return kQ8_0;
    switch (ft) {
      case FT::kQ2_K: return grouped ? kQ4_K : kQ3_K;
      case FT::kQ3_K_M: return layer < 2 ? kQ5_K : kQ4_K;
      case FT::kQ3_K_L: return kQ5_K;
      case FT::kIQ4_NL: return grouped ? kQ5_K : base;
      case FT::kQ4_K_M: case FT::kQ5_K_M: return uses_more_bits(layer, n_layer) ? kQ6_K : base;
      case FT::kQ4_K_S: return layer < 4 ? kQ5_K : base;
      default: return base;
    }
  }
  if (contains(name, "attn_k.weight")) return eight_experts ? kQ8_0 : base;
  if (contains(name, "ffn_down")) {
    switch (ft) {
      case FT::kQ2_K: return kQ3_K;
      case FT::kQ3_K_M: return layer < n_layer / 16 ? kQ5_K : !falcon || uses_more_bits(layer, n_layer) ? kQ4_K : kQ3_K;
      case FT::kQ3_K_L: return falcon ? kQ4_K : kQ5_K;
      case FT::kQ4_K_M:
        if (falcon) return layer < n_layer / 16 ? kQ6_K : uses_more_bits(layer, n_layer) ? kQ5_K : kQ4_K;
        return uses_more_bits(layer, n_layer) ? kQ6_K : base;
      case FT::kIQ4_NL: return layer < n_layer / 8 ? kQ5_K : base;
      case FT::kQ5_K_M: return uses_more_bits(layer, n_layer) ? kQ6_K : base;
      case FT::kQ4_K_S: return !falcon && layer < n_layer / 8 ? kQ5_K : base;
      default: return base;
    }
  }
  if (contains(name, "attn_output.weight")) {
    if (falcon) return ft == FT::kQ3_K_L ? kQ4_K : base;
    if (eight_experts) {
      const bool low_bits = ft == FT::kQ2_K || ft == FT::kQ3_K_S || ft == FT::kQ3_K_M || ft == FT::kIQ4_NL ||
                            ft == FT::kQ4_K_S || ft == FT::kQ4_K_M;
      return low_bits ? kQ5_K : base;
    }
    switch (ft) {
      case FT::kQ2_K: return kQ3_K;
      case FT::kQ3_K_M: return kQ4_K;
      case FT::kQ3_K_L: return kQ5_K;
      default: return base;
    }
  }
  if (contains(name, "attn_qkv.weight")) {
    switch (ft) {
      case FT::kQ3_K_M: case FT::kQ3_K_L: return kQ4_K;
      case FT::kQ4_K_M: return kQ5_K;
      case FT::kQ5_K_M: return kQ6_K;
      default: return base;
    }
  }
  return base;
}

TensorChoice QuantMix::choose(std::string_view name, const std::vector<int64_t>& dims) const {
  const int64_t row_length = dims.empty() ? 1 : dims[0];
  // The mixes apply to quantized file types only: F16 / BF16 / F32 files are uniform.
  const bool mixed = !pure_ && traits(file_type_.base).block_size > 1;
  // MXFP4_MOE: the 3-D expert tensors MXFP4, everything else Q8_0, as llama-quantize does.
  const bool expert = dims.size() > 2 && dims[2] > 1;
  const GgmlType wanted = !mixed ? file_type_.base
                          : file_type_.id == FileType::kMXFP4_MOE ? (expert ? kMXFP4 : kQ8_0)
                                                                  : mixed_type(name, row_length);
  GgmlType type = wanted;
  while (row_length % traits(type).block_size != 0) type = fallback_for(type);
  return {type, wanted};
}

}  // namespace mx
