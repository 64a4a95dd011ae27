package bed

import (
	"path/filepath"
	"strings"
	"testing"
)

// fakeKubectl prints its arguments, and answers auth can-i with its
// fifth argument, exiting 1 on anything but yes as kubectl does.
const fakeKubectl = `#!/bin/sh
if [ "$3 $4" = "auth can-i" ]; then
	echo "$5"
	[ "$5" = yes ]
	exit
fi
echo "$@"
echo "to stderr" >&2
[ "$3" != fail ] || exit 3
`

func newFakeKubectl(t *testing.T) Kubectl {
	t.Helper()
	dir := t.TempDir()
	binary := filepath.Join(dir, "kubectl.1.27")
	writeExecutable(t, binary, fakeKubectl)
	return Kubectl{Binary: binary, Kubeconfig: "admin.kubeconfig", CacheDir: "cache"}
}

func TestKubectlRun(t *testing.T) {
	k := newFakeKubectl(t)
	stdout, stderr, err := k.Run("get", "--raw", "/apis")
	if err != nil {
		t.Fatal(err)
	}
	if want := "--kubeconfig=admin.kubeconfig --cache-dir=cache get --raw /apis\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if stderr != "to stderr\n" {
		t.Errorf("stderr %q", stderr)
	}
	_, _, err = k.Run("fail", "now")
	if err == nil {
		t.Fatal("a kubectl that exits 3 succeeded")
	}
	for _, want := range []string{"kubectl.1.27 fail now: ", "exit status 3", "stderr: to stderr"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestKubectlCanI(t *testing.T) {
	k := newFakeKubectl(t)
	f := func(answer string, want, wantErr bool) {
		t.Helper()
		got, err := k.CanI(answer, "--as=someone")
		if got != want || (err != nil) != wantErr {
			t.Errorf("CanI answering %q = %v, %v; want %v, error %v", answer, got, err, want, wantErr)
		}
	}
	f("yes", true, false)
	f("no", false, false)
	f("maybe", false, true)
	f("", false, true)
}
