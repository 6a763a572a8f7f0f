/* winpkg-path.exe add|remove user|machine
 *
 * Puts a package's install folder on PATH, or takes it off, for the install and
 * uninstall scripts of a command-line tool (`[package.metadata.winpkg.cli]`). It ships in
 * the package as `winpkg\winpkg-path.exe`; the folder it edits PATH for is the one above
 * its own, found from its own file name, so no folder name ever passes through cmd.exe
 * or PowerShell as text.
 *
 * Why a program and not cmd.exe: the value is read and written through the registry
 * API as it is stored (RegQueryValueExW, never expanded), so every other entry stays
 * byte for byte: empty entries, a trailing `;`, quotes, `%VAR%` in a REG_EXPAND_SZ
 * value, `&`, `!`, `^`, non-ASCII, any length Windows allows. cmd.exe can only edit the
 * value through `%VAR%` text, which it parses again (and Wine's cmd expands `%` in it a
 * second time).
 *
 * The rules:
 * - An entry is "ours" when it equals the folder, ignoring case and one trailing `\`.
 * - add: when no entry is ours, append the folder (`value;folder`, or `valuefolder;`
 *   when the value ends with `;`, or just `folder`); the value's type is kept
 *   (REG_EXPAND_SZ when there was no value).
 * - remove: take out the last entry that is ours and one `;` next to it (the one before
 *   it when there is one), so that add then remove gives back the value it started
 *   from, byte for byte. A value left empty is deleted.
 * - Anything doubtful writes nothing: a value of another type, an odd byte count, a NUL
 *   inside the value, a result longer than 32767 characters (Windows's limit for an
 *   environment variable). What was written is read back and compared.
 * - Then running programs (Explorer) are told the environment changed, so new command
 *   prompts see it.
 *
 * Exit codes: 0 done (or nothing to do), 1 refused or failed, 2 usage, 5 access denied.
 * No C runtime: it imports kernel32, advapi32 and user32 only.
 * Build: see make.sh (x86_64 and i686, reproducible). */
#include <windows.h>

#define MAXLEN 32767

static const WCHAR ENV_USER[] = L"Environment";
static const WCHAR ENV_MACHINE[] =
    L"SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment";

static HANDLE heap;

static void out_w(const WCHAR *s, int n) {
    HANDLE h = GetStdHandle(STD_OUTPUT_HANDLE);
    DWORD mode, written;
    if (n < 0) n = lstrlenW(s);
    if (h == INVALID_HANDLE_VALUE || h == NULL || n == 0) return;
    if (GetConsoleMode(h, &mode)) {
        WriteConsoleW(h, s, (DWORD)n, &written, NULL);
        return;
    }
    /* Redirected: UTF-8, as install.cmd's console is switched to code page 65001. */
    int len = WideCharToMultiByte(CP_UTF8, 0, s, n, NULL, 0, NULL, NULL);
    if (len <= 0) return;
    char *buf = HeapAlloc(heap, 0, (SIZE_T)len);
    if (!buf) return;
    WideCharToMultiByte(CP_UTF8, 0, s, n, buf, len, NULL, NULL);
    WriteFile(h, buf, (DWORD)len, &written, NULL);
    HeapFree(heap, 0, buf);
}

static void say(const WCHAR *s) { out_w(s, -1); }

/* "error: ...", a line. */
static int fail(const WCHAR *what, int code) {
    say(L"error: ");
    say(what);
    say(L"\r\n");
    return code;
}

static int fail_status(const WCHAR *what, LONG status) {
    if (status == ERROR_ACCESS_DENIED)
        return fail(L"access denied: the machine's PATH can be changed only from an "
                    L"elevated command prompt (Run as administrator)", 5);
    say(L"error: ");
    say(what);
    WCHAR num[16];
    int i = 15;
    num[i] = 0;
    DWORD v = (DWORD)status;
    do {
        num[--i] = (WCHAR)(L'0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    say(L" (Windows error ");
    say(num + i);
    say(L")\r\n");
    return 1;
}

/* Does value[start..end) name the folder dir[0..dn)? Case-insensitively, one trailing
 * backslash of the entry ignored. */
static BOOL ours(const WCHAR *value, int start, int end, const WCHAR *dir, int dn) {
    int n = end - start;
    if (n > 0 && value[end - 1] == L'\\' && n - 1 == dn) n--;
    if (n != dn || n == 0) return FALSE;
    return CompareStringOrdinal(value + start, n, dir, dn, TRUE) == CSTR_EQUAL;
}

static BOOL same_word(const WCHAR *a, int n, const WCHAR *word) {
    return lstrlenW(word) == n && CompareStringOrdinal(a, n, word, n, TRUE) == CSTR_EQUAL;
}

/* The words after the program's name on the command line (at most `max`). */
static int words(const WCHAR *cmd, const WCHAR **w, int *len, int max) {
    const WCHAR *p = cmd;
    if (*p == L'"') {
        p++;
        while (*p && *p != L'"') p++;
        if (*p) p++;
    } else {
        while (*p && *p != L' ' && *p != L'\t') p++;
    }
    int n = 0;
    for (;;) {
        while (*p == L' ' || *p == L'\t') p++;
        if (!*p) return n;
        if (n == max) return max + 1;
        w[n] = p;
        while (*p && *p != L' ' && *p != L'\t') p++;
        len[n] = (int)(p - w[n]);
        n++;
    }
}

static void copy_w(WCHAR *to, const WCHAR *from, int n) {
    for (int i = 0; i < n; i++) to[i] = from[i];
}

/* Write `data` (n characters) as the value, or delete it when n is 0, and read it back. */
static LONG store(HKEY key, DWORD type, const WCHAR *data, int n, WCHAR *check) {
    LONG st;
    if (n == 0) {
        st = RegDeleteValueW(key, L"Path");
        return st == ERROR_FILE_NOT_FOUND ? ERROR_SUCCESS : st;
    }
    WCHAR *z = HeapAlloc(heap, 0, (SIZE_T)(n + 1) * sizeof(WCHAR));
    if (!z) return ERROR_OUTOFMEMORY;
    copy_w(z, data, n);
    z[n] = 0;
    st = RegSetValueExW(key, L"Path", 0, type, (const BYTE *)z, (DWORD)(n + 1) * sizeof(WCHAR));
    HeapFree(heap, 0, z);
    if (st != ERROR_SUCCESS) return st;
    DWORD got_type, size = (MAXLEN + 2) * sizeof(WCHAR);
    st = RegQueryValueExW(key, L"Path", NULL, &got_type, (BYTE *)check, &size);
    if (st != ERROR_SUCCESS) return st;
    DWORD want = (DWORD)(n + 1) * sizeof(WCHAR);
    if (got_type != type || size != want) return ERROR_INVALID_DATA;
    for (int i = 0; i < n; i++)
        if (check[i] != data[i]) return ERROR_INVALID_DATA;
    return ERROR_SUCCESS;
}

static int run(void) {
    const WCHAR *w[3];
    int wl[3];
    int nw = words(GetCommandLineW(), w, wl, 2);
    BOOL add, machine;
    if (nw != 2) return fail(L"usage: winpkg-path.exe add|remove user|machine", 2);
    if (same_word(w[0], wl[0], L"add")) add = TRUE;
    else if (same_word(w[0], wl[0], L"remove")) add = FALSE;
    else return fail(L"usage: winpkg-path.exe add|remove user|machine", 2);
    if (same_word(w[1], wl[1], L"user")) machine = FALSE;
    else if (same_word(w[1], wl[1], L"machine")) machine = TRUE;
    else return fail(L"usage: winpkg-path.exe add|remove user|machine", 2);

    /* The folder: the one above this program's own folder (named winpkg). */
    WCHAR *dir = HeapAlloc(heap, 0, (MAXLEN + 1) * sizeof(WCHAR));
    WCHAR *value = HeapAlloc(heap, 0, (MAXLEN + 2) * sizeof(WCHAR));
    WCHAR *next = HeapAlloc(heap, 0, (MAXLEN + 2) * sizeof(WCHAR));
    WCHAR *check = HeapAlloc(heap, 0, (MAXLEN + 2) * sizeof(WCHAR));
    if (!dir || !value || !next || !check) return fail(L"out of memory", 1);
    DWORD dn = GetModuleFileNameW(NULL, dir, MAXLEN + 1);
    if (dn == 0 || dn > MAXLEN) return fail(L"cannot find this program's own folder", 1);
    int cut = (int)dn;
    while (cut > 0 && dir[cut - 1] != L'\\') cut--;
    int self = cut - 1; /* the backslash before winpkg-path.exe */
    int up = self;
    while (up > 0 && dir[up - 1] != L'\\') up--;
    if (self <= 0 || up <= 0 || !same_word(dir + up, self - up, L"winpkg"))
        return fail(L"winpkg-path.exe must stay in the package's winpkg folder", 1);
    int n_dir = up - 1; /* without the backslash before "winpkg" */
    if (n_dir < 3 || dir[n_dir - 1] == L':')
        return fail(L"extract the package into a folder, not the root of a drive", 1);
    dir[n_dir] = 0;
    for (int i = 0; i < n_dir; i++)
        if (dir[i] == L';')
            return fail(L"the install folder's path has a ';', which PATH cannot hold: move the folder", 1);

    HKEY key;
    LONG st = RegOpenKeyExW(machine ? HKEY_LOCAL_MACHINE : HKEY_CURRENT_USER,
                            machine ? ENV_MACHINE : ENV_USER, 0,
                            KEY_QUERY_VALUE | KEY_SET_VALUE | KEY_WOW64_64KEY, &key);
    if (st == ERROR_FILE_NOT_FOUND && !machine)
        st = RegCreateKeyExW(HKEY_CURRENT_USER, ENV_USER, 0, NULL, 0,
                             KEY_QUERY_VALUE | KEY_SET_VALUE, NULL, &key, NULL);
    if (st != ERROR_SUCCESS) return fail_status(L"cannot open the registry key of PATH", st);

    DWORD type = REG_EXPAND_SZ, size = (MAXLEN + 1) * sizeof(WCHAR);
    int n = 0;
    st = RegQueryValueExW(key, L"Path", NULL, &type, (BYTE *)value, &size);
    if (st == ERROR_FILE_NOT_FOUND) {
        type = REG_EXPAND_SZ;
    } else if (st == ERROR_MORE_DATA) {
        return fail(L"PATH is longer than Windows allows (32767 characters): left as it is", 1);
    } else if (st != ERROR_SUCCESS) {
        return fail_status(L"cannot read PATH", st);
    } else {
        if (type != REG_SZ && type != REG_EXPAND_SZ)
            return fail(L"PATH in the registry is not a string value: left as it is", 1);
        if (size % sizeof(WCHAR))
            return fail(L"PATH in the registry has an odd number of bytes: left as it is", 1);
        n = (int)(size / sizeof(WCHAR));
        if (n > 0 && value[n - 1] == 0) n--;
        for (int i = 0; i < n; i++)
            if (value[i] == 0)
                return fail(L"PATH in the registry holds a NUL character: left as it is", 1);
    }

    /* The last entry that is ours. */
    int found = -1, found_end = -1;
    for (int start = 0; start <= n;) {
        int end = start;
        while (end < n && value[end] != L';') end++;
        if (ours(value, start, end, dir, n_dir)) {
            found = start;
            found_end = end;
        }
        start = end + 1;
    }

    int m = 0;
    if (add) {
        if (found >= 0) {
            say(dir);
            say(L" is on PATH already\r\n");
            return 0;
        }
        if (n + 1 + n_dir > MAXLEN)
            return fail(L"PATH would be longer than Windows allows (32767 characters): left as it is", 1);
        copy_w(next, value, n);
        m = n;
        if (n > 0 && value[n - 1] == L';') {
            copy_w(next + m, dir, n_dir);
            m += n_dir;
            next[m++] = L';';
        } else {
            if (n > 0) next[m++] = L';';
            copy_w(next + m, dir, n_dir);
            m += n_dir;
        }
    } else {
        if (found < 0) {
            say(dir);
            say(L" is not on PATH: nothing to do\r\n");
            return 0;
        }
        int from = found, to = found_end;
        if (from > 0) from--;            /* the ';' before it */
        else if (to < n) to++;           /* else the ';' after it */
        copy_w(next, value, from);
        copy_w(next + from, value + to, n - to);
        m = from + (n - to);
    }
    st = store(key, type, next, m, check);
    RegCloseKey(key);
    if (st != ERROR_SUCCESS) return fail_status(L"could not write PATH", st);
    DWORD_PTR res;
    SendMessageTimeoutW(HWND_BROADCAST, WM_SETTINGCHANGE, 0, (LPARAM)L"Environment",
                        SMTO_ABORTIFHUNG, 5000, &res);
    if (add) {
        say(L"Added ");
        say(dir);
        say(L" to PATH: new command prompts find its programs\r\n");
    } else {
        say(L"Removed ");
        say(dir);
        say(L" from PATH\r\n");
    }
    return 0;
}

void entry(void) {
    heap = GetProcessHeap();
    ExitProcess((UINT)run());
}
