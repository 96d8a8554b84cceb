package io.bisectbot.bots;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChangedFilesTest {

    @TempDir
    Path repo;

    private String git(String... args) throws Exception {
        return io.bisectbot.TestGit.run(repo, args);
    }

    private static byte[] tar(Map<String, String> files) throws Exception {
        var bytes = new ByteArrayOutputStream();
        try (var out = new TarArchiveOutputStream(bytes)) {
            out.putArchiveEntry(new TarArchiveEntry("src/"));
            out.closeArchiveEntry();
            for (var file : new TreeMap<>(files).entrySet()) {
                var content = file.getValue().getBytes(StandardCharsets.UTF_8);
                var entry = new TarArchiveEntry("src/" + file.getKey());
                entry.setSize(content.length);
                entry.setMode(file.getKey().endsWith(".sh") ? 0100755 : 0100644);
                out.putArchiveEntry(entry);
                out.write(content);
                out.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    @Test
    void lists_modified_added_and_deleted_files_and_ignores_what_gitignore_ignores() throws Exception {
        git("init", "-q", "-b", "main");
        Files.writeString(repo.resolve("README.md"), "old\n");
        Files.writeString(repo.resolve("gone.txt"), "bye\n");
        Files.writeString(repo.resolve("same.txt"), "same\n");
        Files.writeString(repo.resolve(".gitignore"), "build/\n");
        git("add", "-A");
        git("commit", "-q", "-m", "base");
        var head = git("rev-parse", "HEAD");
        var objectsBefore = git("count-objects");

        var output = tar(Map.of(
                "README.md", "new\n",
                "same.txt", "same\n",
                ".gitignore", "build/\n",
                "docs/added.md", "added\n",
                "run.sh", "#!/bin/sh\n",
                "build/artifact.bin", "ignored\n"));
        var changes = ChangedFiles.between(repo.resolve(".git"), head, new ByteArrayInputStream(output));

        var byPath = new TreeMap<String, ChangedFiles.Change>();
        changes.forEach(c -> byPath.put(c.path(), c));
        assertThat(byPath).containsOnlyKeys("README.md", "docs/added.md", "gone.txt", "run.sh");
        assertThat(new String(byPath.get("README.md").content(), StandardCharsets.UTF_8))
                .isEqualTo("new\n");
        assertThat(byPath.get("gone.txt").deleted()).isTrue();
        assertThat(byPath.get("run.sh").mode()).isEqualTo("100755");
        assertThat(byPath.get("docs/added.md").mode()).isEqualTo("100644");
        // Nothing was written into the repository itself.
        assertThat(git("count-objects")).isEqualTo(objectsBefore);
    }

    @Test
    void an_unchanged_tree_has_no_changes() throws Exception {
        git("init", "-q", "-b", "main");
        Files.writeString(repo.resolve("a.txt"), "a\n");
        git("add", "-A");
        git("commit", "-q", "-m", "base");
        var changes = ChangedFiles.between(
                repo.resolve(".git"), git("rev-parse", "HEAD"), new ByteArrayInputStream(tar(Map.of("a.txt", "a\n"))));
        assertThat(changes).isEmpty();
    }
}
