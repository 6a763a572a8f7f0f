/* winpkg-svcstate.exe NAME: print a service's state as ASCII, for `cargo winpkg verify
 * --wine`. Wine's sc.exe stops printing at the first non-ASCII character of a service
 * name, so its output cannot be parsed for such names; this asks the SCM directly.
 * Output: "state=N pid=P" (N as in SERVICE_STATUS: 1 stopped .. 4 running), exit 0;
 * or "missing", exit 1060 when there is no such service.
 * Build: x86_64-w64-mingw32-gcc -O2 -s -municode -Wl,--no-insert-timestamp
 *        -o winpkg-svcstate.exe svcstate.c -ladvapi32 */
#include <windows.h>
#include <stdio.h>

int wmain(int argc, wchar_t **argv) {
    if (argc != 2) {
        fputs("usage: winpkg-svcstate NAME\n", stderr);
        return 2;
    }
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (!scm) {
        printf("error=%lu\n", GetLastError());
        return 1;
    }
    SC_HANDLE svc = OpenServiceW(scm, argv[1], SERVICE_QUERY_STATUS);
    if (!svc) {
        DWORD e = GetLastError();
        CloseServiceHandle(scm);
        if (e == ERROR_SERVICE_DOES_NOT_EXIST) {
            puts("missing");
            return 1060;
        }
        printf("error=%lu\n", e);
        return 1;
    }
    SERVICE_STATUS_PROCESS st;
    DWORD needed = 0;
    if (!QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (LPBYTE)&st, sizeof st, &needed)) {
        printf("error=%lu\n", GetLastError());
        return 1;
    }
    printf("state=%lu pid=%lu exit=%lu\n", st.dwCurrentState, st.dwProcessId, st.dwWin32ExitCode);
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return 0;
}
