package cmd

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// startEmulatorBinary starts the built binary's emulator with env and
// extra args and returns its base URL and the process; stderr is captured.
func startEmulatorBinary(t *testing.T, env []string, args ...string) (string, *exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"emulator", "--addr", "127.0.0.1:0", "--repo", t.TempDir()}, args...)...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	sc := bufio.NewScanner(stdout)
	var base string
	var banner strings.Builder
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if rest, ok := strings.CutPrefix(sc.Text(), "Amigo Tool API emulator listening on "); ok {
			base = strings.Fields(rest)[0]
		}
		if sc.Text() == "Stop with Ctrl-C." {
			break
		}
	}
	if base == "" {
		t.Fatalf("no banner with the base URL:\n%s", banner.String())
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if strings.Contains(banner.String(), "emu-static-token-0042") {
		t.Errorf("the banner prints the token:\n%s", banner.String())
	}
	return base, cmd, &stderr
}

func listToolsWith(t *testing.T, base, token string) int {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/v1/demo/tool/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return doReq(t, http.DefaultClient, req).StatusCode
}

// TestBinary_emulatorTokenFromEnvironment: the emulator's static token
// comes from AMIGO_EMULATOR_TOKEN, so it is not on the process's command
// line (what ps shows); --token still works and warns that it shows there.
func TestBinary_emulatorTokenFromEnvironment(t *testing.T) {
	const token = "emu-static-token-0042"
	base, cmd, stderr := startEmulatorBinary(t, []string{"AMIGO_EMULATOR_TOKEN=" + token})
	if code := listToolsWith(t, base, token); code != http.StatusOK {
		t.Errorf("list tools with the token from AMIGO_EMULATOR_TOKEN: status %d, want 200", code)
	}
	if code := listToolsWith(t, base, "some-other-token"); code != http.StatusUnauthorized {
		t.Errorf("list tools with another token: status %d, want 401", code)
	}
	if runtime.GOOS == "linux" {
		argv := readFile(t, "/proc/"+strconv.Itoa(cmd.Process.Pid)+"/cmdline")
		if strings.Contains(string(argv), token) {
			t.Errorf("the token is on the command line: %q", argv)
		}
	}
	stopProcess(cmd)
	if strings.Contains(stderr.String(), "warning: --token") {
		t.Errorf("warned about --token when the variable set it:\n%s", stderr.String())
	}

	base, cmd, stderr = startEmulatorBinary(t, nil, "--token", token)
	if code := listToolsWith(t, base, token); code != http.StatusOK {
		t.Errorf("list tools with --token: status %d, want 200", code)
	}
	stopProcess(cmd)
	wantContains(t, "stderr", stderr.String(), "warning: --token on the command line can be read by every user of this machine (ps, /proc); set AMIGO_EMULATOR_TOKEN instead")
}

// stopProcess interrupts cmd (kills it where there is no SIGINT) and waits.
func stopProcess(cmd *exec.Cmd) {
	if cmd.Process.Signal(os.Interrupt) != nil {
		cmd.Process.Kill()
	}
	cmd.Wait()
}
