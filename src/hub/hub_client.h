// HTTP to the hub (libcurl): the commit of a revision, the file listing, and downloads that
// follow the redirect to the CDN, resume with a Range request, and hash while writing.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/expected.h"
#include "hub/file_download.h"
#include "hub/hub_settings.h"
#include "hub/repo_file.h"

namespace mx::hub {

class HubClient {
 public:
  HubClient(HubSettings settings, std::string endpoint);

  Expected<std::string> commit_of(std::string_view repo, std::string_view revision) const;
  Expected<RepoTree> tree(std::string_view repo, std::string_view commit) const;

  // Downloads `file` to `partial` (continuing what is there), then checks its size and
  // sha256. A checksum mismatch deletes `partial`. A dropped connection resumes a few times.
  Expected<DownloadStats> download(std::string_view repo, std::string_view commit, const RepoFile& file,
                                   const std::string& partial) const;

  // "{endpoint}/{repo}/resolve/{commit}/{file}" with the path escaped.
  std::string file_url(std::string_view repo, std::string_view commit, std::string_view file) const;

 private:
  HubSettings settings_;
  std::string endpoint_;
};

}  // namespace mx::hub
