// Ollama's API on this server, one file per concept:
//  - server/ollama_generate.h: /api/chat and /api/generate (NDJSON streams or whole replies);
//  - server/ollama_models.h: /api/tags, /api/show, /api/ps, /api/version;
//  - server/ollama_embed.h: /api/embed and /api/embeddings;
//  - server/ollama_shapes.h: what they share (the served model, timestamps, {"error": "..."});
//  - server/ollama_request.h: Ollama's request fields mapped onto the OpenAI parser's.
#pragma once

#include "server/ollama_embed.h"
#include "server/ollama_generate.h"
#include "server/ollama_models.h"
#include "server/ollama_shapes.h"
