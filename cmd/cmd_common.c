/* Helpers shared by the commands that read a source: run, plan, status. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "loader.h"
#include "tt_str.h"

/* The directory behind --source dir:PATH, or NULL with a message. */
const char *tt_cmd_source_path(const char *source, char *err, size_t errlen)
{
    if (strncmp(source, "dir:", 4) == 0 && source[4] != '\0')
        return source + 4;
    if (strcmp(source, "kube") == 0)
        snprintf(err, errlen, "--source kube works with `trimtab run` only; use dir:PATH here");
    else
        snprintf(err, errlen, "--source must be dir:PATH, not '%s'", source);
    return NULL;
}

/*
 * The default state directory: outside the source, one per source path, under
 * $XDG_STATE_HOME (or ~/.local/state) so two checkouts never share status.
 */
void tt_cmd_default_state_dir(const char *path, char *out, size_t outlen)
{
    char real[PATH_MAX];
    const char *base, *home = getenv("XDG_STATE_HOME");
    char root[PATH_MAX];

    if (realpath(path, real) == NULL)
        snprintf(real, sizeof(real), "%s", path);
    base = strrchr(real, '/');
    base = base && base[1] ? base + 1 : "root";
    if (home != NULL && home[0] == '/')
        snprintf(root, sizeof(root), "%s/trimtab", home);
    else
        snprintf(root, sizeof(root), "%s/.local/state/trimtab",
                 getenv("HOME") ? getenv("HOME") : "/tmp");
    snprintf(out, outlen, "%s/%s-%08x", root, base, (unsigned)(tt_hash64_str(real) & 0xffffffffu));
}

int tt_cmd_load(tt_manifest_set *set, tt_diags *diags, char **paths, int n, tt_buf *out)
{
    for (int i = 0; i < n; i++) {
        if (tt_loader_add_path(set, paths[i], diags) != TT_OK)
            return TT_ENOMEM;
    }
    tt_loader_finish(set, diags);
    tt_diags_sort(diags);
    return tt_diags_format(diags, out);
}
