// Which type each tensor of a model gets when the user asks for a file type such as Q4_K_M:
// the mixes llama.cpp's quantize defined and users know by name. Sensitive tensors (the
// classifier, some attn_v and ffn_down layers) get more bits; a row length the chosen
// type's blocks do not divide falls back to a type whose blocks do.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quant/types.h"

namespace mx {

// general.file_type values (llama_ftype) of the file types moxing writes.
enum class FileType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ8_0 = 7,
  kQ5_0 = 8,
  kQ5_1 = 9,
  kQ2_K = 10,
  kQ3_K_S = 11,
  kQ3_K_M = 12,
  kQ3_K_L = 13,
  kQ4_K_S = 14,
  kQ4_K_M = 15,
  kQ5_K_S = 16,
  kQ5_K_M = 17,
  kQ6_K = 18,
  kIQ4_NL = 25,
  kBF16 = 32,
  kMXFP4_MOE = 38,
};

struct FileTypeInfo {
  FileType id;
  std::string_view name;         // "Q4_K_M"
  GgmlType base;                 // the type most weight matrices get
  std::string_view description;  // for --help / --list
};

std::span<const FileTypeInfo> file_types();
// Case-insensitive; "Q3_K", "Q4_K" and "Q5_K" mean the _M mixes, as in llama.cpp.
std::optional<FileTypeInfo> find_file_type(std::string_view name);
std::string file_type_names();  // "F32, F16, ..." for help and errors

// What the mix needs to know of the model.
struct MixShape {
  int64_t n_layer = 0;
  int64_t n_expert = 0;
  int64_t n_gqa = 1;  // query heads per key/value head
  bool has_output = true;  // output.weight exists (else token_embd is also the classifier)
  bool falcon = false;
};

struct TensorChoice {
  GgmlType type;    // what the tensor is written as
  GgmlType wanted;  // what the mix asked for; differs when the row length forced a fallback
};

class QuantMix {
 public:
  // `pure`: every weight matrix gets the base type (fallbacks still apply).
  QuantMix(FileTypeInfo file_type, MixShape shape, bool pure = false);

  // Whether a tensor is a weight matrix that the file type converts: 2-D or more, named
  // *.weight, and not one that must keep full precision (MoE routers, position tables).
  static bool is_weight_matrix(std::string_view name, const std::vector<int64_t>& dims);

  // The type of a weight matrix (dims ne0 first).
  TensorChoice choose(std::string_view name, const std::vector<int64_t>& dims) const;

  const FileTypeInfo& file_type() const { return file_type_; }

 private:
  GgmlType mixed_type(std::string_view name, int64_t row_length) const;

  FileTypeInfo file_type_;
  MixShape shape_;
  bool pure_;
};

}  // namespace mx
