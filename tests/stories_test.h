// The real TinyStories model of ../shared with its tokenizer, loaded before each test of
// a fixture: the base of the engine and server tests that run a whole model.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "core/cpu_features.h"
#include "kernels/kernel_table.h"
#include "model/model.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace mx::test {

class StoriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = Model::load(shared_path("models/stories260K.gguf"), kernels_);
    ASSERT_TRUE(m.ok()) << m.error().message;
    model_ = std::move(*m);
    auto tok = Tokenizer::from_gguf(model_->file);
    ASSERT_TRUE(tok.ok()) << tok.error().message;
    tokenizer_ = std::move(*tok);
  }

  KernelTable kernels_ = best_kernels(CpuFeatures::detect());
  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
};

}  // namespace mx::test
