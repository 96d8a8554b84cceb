/**
 * Git plumbing shared by bisect and bot jobs: {@link io.bisectbot.git.GitRepository} reads a repository through
 * the git CLI and keeps bare mirrors of remote ones in the mirror cache ({@code GIT_CACHE_DIR}), which
 * {@link io.bisectbot.git.MirrorCacheCleaner} keeps within its limits; {@link io.bisectbot.git.GitCredentials}
 * supplies the token a fetch needs. It knows nothing of the jobs that use it.
 */
package io.bisectbot.git;
