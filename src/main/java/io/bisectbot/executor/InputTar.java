package io.bisectbot.executor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.util.HashSet;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Rewrites a step's input tar on the fly so the step can write where it works, whatever the image: every entry
 * moves under the work dir's name inside the volume and belongs to the step's uid:gid. The engine keeps a tar's
 * owners when it extracts, but never changes the mount point itself, hence the extra directory level.
 */
final class InputTar {

    /** The anonymous volume every step works in; the working directory is a directory inside it. */
    static final String VOLUME = "/work";

    private InputTar() {}

    /** The path of {@code workingDir} relative to the volume, e.g. {@code src} for {@code /work/src}. */
    static String relativeDir(String workingDir) {
        if (!workingDir.startsWith(VOLUME + "/") || workingDir.length() <= VOLUME.length() + 1) {
            throw new IllegalArgumentException(
                    "workingDir must be a directory below " + VOLUME + ", got " + workingDir);
        }
        return workingDir.substring(VOLUME.length() + 1).replaceAll("/+$", "");
    }

    /**
     * A stream of {@code source}'s entries under {@code dir/}, preceded by {@code dir/} itself, owned by
     * {@code uid:gid} (when known). Streamed through a pipe: the source is never held in memory.
     */
    static InputStream rebase(InputStream source, String dir, Integer uid, Integer gid) throws IOException {
        var pipe = new PipedInputStream(64 * 1024);
        var sink = new PipedOutputStream(pipe);
        Thread.ofVirtual().name("input-tar").start(() -> {
            try (source;
                    sink) {
                rebaseInto(source, sink, dir, uid, gid);
            } catch (IOException e) {
                // The reader sees a truncated tar and the copy fails as an infrastructure error.
            }
        });
        return pipe;
    }

    /**
     * {@link #rebase}'s tar in memory, or null when it would be larger than {@code max} bytes; fails when
     * {@code source} is not a whole tar. Read in the calling thread, so a broken source is an error, not a short tar.
     */
    static byte[] rebasedBytes(InputStream source, String dir, Integer uid, Integer gid, int max) throws IOException {
        var out = new ByteArrayOutputStream() {
            @Override
            public synchronized void write(byte[] bytes, int offset, int length) {
                if (count + length > max) {
                    throw new TooLarge();
                }
                super.write(bytes, offset, length);
            }

            @Override
            public synchronized void write(int b) {
                write(new byte[] {(byte) b}, 0, 1);
            }
        };
        try (source) {
            rebaseInto(source, out, dir, uid, gid);
            return out.toByteArray();
        } catch (TooLarge e) {
            return null;
        }
    }

    private static final class TooLarge extends RuntimeException {
        TooLarge() {
            super(null, null, false, false);
        }
    }

    private static void rebaseInto(InputStream source, OutputStream sink, String dir, Integer uid, Integer gid)
            throws IOException {
        var in = new TarArchiveInputStream(source);
        var out = new TarArchiveOutputStream(sink);
        out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        var prefix = dir + "/";
        var directories = new HashSet<String>();
        ensureDirectories(out, prefix, directories, uid, gid);
        TarArchiveEntry entry;
        while ((entry = in.getNextEntry()) != null) {
            if (entry.isGlobalPaxHeader()) {
                continue;
            }
            var name = entry.getName().startsWith("./") ? entry.getName().substring(2) : entry.getName();
            if (name.isEmpty()) {
                continue;
            }
            // Parents the tar does not list would be created by the engine as root, unwritable for the step.
            var slash = name.lastIndexOf('/', name.length() - 2);
            if (slash > 0) {
                ensureDirectories(out, prefix + name.substring(0, slash + 1), directories, uid, gid);
            }
            if (entry.isDirectory() && !directories.add(prefix + name)) {
                continue;
            }
            var copy = new TarArchiveEntry(prefix + name, entry.getLinkFlag());
            copy.setMode(entry.getMode() | 0200);
            copy.setModTime(entry.getModTime());
            copy.setSize(entry.isFile() ? entry.getSize() : 0);
            if (entry.isSymbolicLink() || entry.isLink()) {
                copy.setLinkName(entry.isLink() ? prefix + entry.getLinkName() : entry.getLinkName());
            }
            if (uid != null) {
                own(copy, uid, gid);
            } else {
                copy.setUserId(entry.getLongUserId());
                copy.setGroupId(entry.getLongGroupId());
            }
            out.putArchiveEntry(copy);
            if (entry.isFile()) {
                in.transferTo(out);
            }
            out.closeArchiveEntry();
        }
        out.finish();
        out.flush();
    }

    /** Writes {@code path} (ending in '/') and each of its parents not written yet, as directories. */
    private static void ensureDirectories(
            TarArchiveOutputStream out, String path, Set<String> written, Integer uid, Integer gid) throws IOException {
        var end = 0;
        while ((end = path.indexOf('/', end) + 1) > 0) {
            var directory = path.substring(0, end);
            if (written.add(directory)) {
                var entry = new TarArchiveEntry(directory);
                entry.setMode(040755);
                own(entry, uid, gid);
                out.putArchiveEntry(entry);
                out.closeArchiveEntry();
            }
        }
    }

    private static void own(TarArchiveEntry entry, Integer uid, Integer gid) {
        if (uid != null) {
            entry.setUserId(uid);
            entry.setGroupId(gid == null ? uid : gid);
        }
    }

    /** The numeric uid and gid of a "uid[:gid]" user, or nulls for a name the engine resolves. */
    static Integer[] numericOwner(String user) {
        if (user == null) {
            return new Integer[] {null, null};
        }
        var parts = user.split(":", 2);
        try {
            var uid = Integer.valueOf(parts[0]);
            var gid = parts.length > 1 ? Integer.valueOf(parts[1]) : uid;
            return new Integer[] {uid, gid};
        } catch (NumberFormatException e) {
            return new Integer[] {null, null};
        }
    }
}
