// The Server's Ollama routes (server/ollama_adapter.h): each picks its model from the body's
// "model" (or "name") through the registry, as the OpenAI routes do.
#include <httplib.h>

#include "gguf/gguf_file.h"
#include "server/model_routes.h"
#include "server/ollama_adapter.h"
#include "server/server.h"

namespace mx::server {

namespace {

OllamaModel ollama_model(const ModelLease& m) {
  return OllamaModel{m.id(), &m->model->file, m->runner->n_ctx(), &m->defaults, m->chat_template};
}

}  // namespace

void Server::ollama_routes() {
  httplib::Server& h = *http_;
  for (const bool chat : {true, false})
    h.Post(chat ? "/api/chat" : "/api/generate", [this, chat](const httplib::Request& q, httplib::Response& r) {
      metrics_.request_started(chat ? "chat" : "completions");
      auto m = lease_for(q, r, requested_model(q.body));
      if (m) ollama_generate(*(*m)->generation, ollama_model(*m), q.body, chat, key_index(q), r);
    });
  // Every model offered: a loaded one as it runs, another from its file's header (mapped, not loaded).
  h.Get("/api/tags", [this](const httplib::Request&, httplib::Response& r) {
    std::vector<ModelLease> leases;
    std::vector<std::unique_ptr<gguf::File>> files;
    std::vector<OllamaModel> models;
    for (size_t i = 0; i < registry_->size(); ++i) {
      if (auto m = registry_->try_acquire(i)) {
        models.push_back(ollama_model(*m));
        leases.push_back(std::move(*m));
      } else if (auto f = gguf::File::open(registry_->spec(i).path)) {
        files.push_back(std::make_unique<gguf::File>(std::move(*f)));
        models.push_back(OllamaModel{registry_->spec(i).id, files.back().get(), 0, nullptr, {}});
      }
    }
    ollama_tags(models, r);
  });
  h.Get("/api/ps", [this](const httplib::Request&, httplib::Response& r) {
    std::vector<ModelLease> leases;
    std::vector<OllamaModel> models;
    for (size_t i = 0; i < registry_->size(); ++i)
      if (auto m = registry_->try_acquire(i)) {
        models.push_back(ollama_model(*m));
        leases.push_back(std::move(*m));
      }
    ollama_ps(models, r);
  });
  // show reports the template and sampling settings in use, so it loads the model.
  h.Post("/api/show", [this](const httplib::Request& q, httplib::Response& r) {
    if (auto m = lease_for(q, r, requested_model(q.body))) ollama_show(ollama_model(*m), q.body, r);
  });
  h.Get("/api/version", [](const httplib::Request&, httplib::Response& r) { ollama_version(r); });
  for (const bool legacy : {false, true})
    h.Post(legacy ? "/api/embeddings" : "/api/embed", [this, legacy](const httplib::Request& q, httplib::Response& r) {
      metrics_.request_started("embeddings");
      auto m = lease_for(q, r, requested_model(q.body));
      if (!m) return;
      ollama_embed(ollama_model(*m), q.body, legacy,
                   [this, &m](const std::string& body, httplib::Response& out) { embeddings(*m, body, out); }, r);
    });
}

}  // namespace mx::server
