#include "gguf/gguf_file.h"

#include "gguf/parser.h"

namespace mx::gguf {

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;  // the parser rejected products that overflow
  return n;
}

Expected<File> File::open(const std::string& path) {
  auto mapped = MappedFile::open(path);
  if (!mapped) return mapped.error();
  std::shared_ptr<MappedFile> mapping = std::move(*mapped);
  auto file = parse_gguf(mapping->bytes(), path);
  if (!file) return file.error();
  file->mapping_ = std::move(mapping);
  return file;
}

Expected<File> File::parse(std::span<const uint8_t> bytes, std::string name) {
  return parse_gguf(bytes, std::move(name));
}

const Value* File::find(std::string_view key) const {
  const auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second].value;
}

std::optional<int64_t> File::get_int(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_int() : std::nullopt;
}

std::optional<double> File::get_float(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_float() : std::nullopt;
}

std::optional<bool> File::get_bool(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_bool() : std::nullopt;
}

std::optional<std::string> File::get_string(std::string_view key) const {
  const Value* v = find(key);
  const std::string* s = v ? v->as_string() : nullptr;
  return s ? std::optional<std::string>(*s) : std::nullopt;
}

const Array* File::get_array(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_array() : nullptr;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

void File::drop_tensor_pages(const TensorInfo& tensor) const {
  if (mapping_) mapping_->drop_pages(tensor.data, tensor.n_bytes);
}

}  // namespace mx::gguf
