package cmd

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The images TestImages inspects, as scripts/images.sh --test names them.
const (
	envImageBuilder = "AMIGO_IMAGE_BUILDER" // docker, podman or buildah
	envImageAction  = "AMIGO_IMAGE_ACTION"  // e.g. amigo-release:action
	envImageAzure   = "AMIGO_IMAGE_AZURE"   // e.g. amigo-release:azure
	envImageNoArgs  = "AMIGO_IMAGE_NOARGS"  // the action target built with TARGETOS/TARGETARCH empty
	actionMaxBytes  = 25_000_000
	imageBinary     = "/usr/local/bin/amigo-release"
	imageCABundle   = "/etc/ssl/certs/ca-certificates.crt"
)

// imageConfig is the part of an image's config the test reads (Docker,
// podman and OCI spell these keys the same).
type imageConfig struct {
	User       string   `json:"User"`
	Env        []string `json:"Env"`
	Entrypoint []string `json:"Entrypoint"`
	Cmd        []string `json:"Cmd"`
	Labels     map[string]string
}

// builtImage is one image, exported to a directory.
type builtImage struct {
	ref    string
	cfg    imageConfig
	arch   string                 // GOARCH spelling
	root   string                 // the exported file system
	hdr    map[string]*tar.Header // "/tmp" -> its entry in the export: modes and owners as the image has them
	size   int64                  // bytes of regular files in it
	stored int64                  // the builder's own size figure, 0 when it has none
}

// TestImages inspects the two images scripts/images.sh built (it runs this
// test with --test; .ci/run does that): what GitHub and Azure DevOps require
// of them, and that the binary in them runs as the image's user. Where no
// container runtime can run them (a sandbox where crun cannot set rlimits),
// the exported file system runs under chroot in private mount and PID
// namespaces with /proc and /dev, as a container would see them.
func TestImages(t *testing.T) {
	actionRef, azureRef := os.Getenv(envImageAction), os.Getenv(envImageAzure)
	if actionRef == "" || azureRef == "" {
		t.Skipf("%s/%s unset: scripts/images.sh --test builds the images and runs this test (.ci/run does)", envImageAction, envImageAzure)
	}
	builder := os.Getenv(envImageBuilder)
	if !slices.Contains([]string{"docker", "podman", "buildah"}, builder) {
		t.Fatalf("%s=%q: want docker, podman or buildah", envImageBuilder, builder)
	}
	needTool(t, builder)
	needTool(t, "tar")
	runner := newImageRunner(t, builder, actionRef)

	action := exportImage(t, builder, actionRef)
	azure := exportImage(t, builder, azureRef)

	t.Run("action", func(t *testing.T) {
		img := action
		// GitHub runs a Docker action as the image's user and the workspace and
		// GITHUB_* files belong to the runner: "Docker actions must be run by
		// the default Docker user (root)" (GitHub's Dockerfile support docs).
		if !isRootUser(img.cfg.User) {
			t.Errorf("USER %q: GitHub Docker actions must run as root (no USER instruction)", img.cfg.User)
		}
		if !slices.Equal(img.cfg.Entrypoint, []string{imageBinary}) {
			t.Errorf("ENTRYPOINT %q, want [%s]", img.cfg.Entrypoint, imageBinary)
		}
		wantTmp(t, img)
		wantCABundle(t, img)
		wantBinary(t, img)
		if img.size >= actionMaxBytes {
			t.Errorf("action image holds %d bytes, want < %d", img.size, actionMaxBytes)
		}
		// Everything in the image, and nothing else: a static binary needs no more.
		var files []string
		for name, h := range img.hdr {
			if h.Typeflag != tar.TypeDir {
				files = append(files, name)
			}
		}
		slices.Sort(files)
		if want := []string{imageCABundle, imageBinary}; !slices.Equal(files, want) {
			t.Errorf("action image files %q, want exactly %q", files, want)
		}
		runner.wantRuns(t, img, "")
		runner.wantRuns(t, img, "1001:1001") // docker run --user: the self-hosted case
	})

	t.Run("azure", func(t *testing.T) {
		img := azure
		// The Azure agent starts the container with its own command and
		// creates a user matching its own uid with groupadd/useradd.
		if len(img.cfg.Entrypoint) != 0 {
			t.Errorf("ENTRYPOINT %q: Azure container jobs need none", img.cfg.Entrypoint)
		}
		if !isRootUser(img.cfg.User) {
			t.Errorf("USER %q: the agent needs a user that can run groupadd/useradd", img.cfg.User)
		}
		for _, p := range []string{"/bin/bash", "/usr/sbin/useradd", "/usr/sbin/groupadd"} {
			if _, err := os.Stat(filepath.Join(img.root, p)); err != nil {
				t.Errorf("azure image lacks %s, which the agent needs: %v", p, err)
			}
		}
		if libc, _ := filepath.Glob(filepath.Join(img.root, "usr/lib/*-linux-gnu/libc.so.6")); len(libc) == 0 {
			t.Error("azure image has no glibc; the agent's Node.js needs it")
		}
		wantTmp(t, img)
		wantCABundle(t, img)
		wantBinary(t, img)
		runner.wantRuns(t, img, "")
		runner.wantRuns(t, img, "1001:1001") // the user the agent creates for its own uid
	})

	if ref := os.Getenv(envImageNoArgs); ref != "" {
		// A builder that sets no TARGETOS/TARGETARCH (the legacy Docker
		// builder) gets the build machine's platform, not a broken path.
		t.Run("no TARGETARCH", func(t *testing.T) {
			img := exportImage(t, builder, ref)
			a, b := fileSHA256(t, filepath.Join(img.root, imageBinary)), fileSHA256(t, filepath.Join(action.root, imageBinary))
			if a != b {
				t.Errorf("%s holds another binary (%s) than %s (%s)", ref, a, actionRef, b)
			}
		})
	}

	for _, img := range []*builtImage{action, azure} {
		tmp := img.hdr["/tmp"]
		if tmp == nil {
			tmp = &tar.Header{Uid: -1, Gid: -1}
		}
		user := img.cfg.User
		if user == "" {
			user = "(none: root)"
		}
		stored := "n/a"
		if img.stored > 0 {
			stored = fmt.Sprintf("%.1f MB", float64(img.stored)/1e6)
		}
		t.Logf("%-24s linux/%s  files %.1f MB  stored %s  /tmp %v %d:%d  user %s  entrypoint %q  cmd %q",
			img.ref, img.arch, float64(img.size)/1e6, stored, tmp.FileInfo().Mode(), tmp.Uid, tmp.Gid, user, img.cfg.Entrypoint, img.cfg.Cmd)
	}
}

func isRootUser(u string) bool {
	name, _, _ := strings.Cut(u, ":")
	return name == "" || name == "0" || name == "root"
}

func wantTmp(t *testing.T, img *builtImage) {
	t.Helper()
	h := img.hdr["/tmp"]
	if h == nil {
		t.Errorf("%s has no /tmp", img.ref)
		return
	}
	if want := fs.ModeDir | fs.ModeSticky | 0o777; h.FileInfo().Mode() != want {
		t.Errorf("%s: /tmp is %v, want %v (os.TempDir must be writable by any user)", img.ref, h.FileInfo().Mode(), want)
	}
	if h.Uid != 0 || h.Gid != 0 {
		t.Errorf("%s: /tmp owned by %d:%d, want 0:0", img.ref, h.Uid, h.Gid)
	}
}

func wantCABundle(t *testing.T, img *builtImage) {
	t.Helper()
	if !slices.Contains(img.cfg.Env, "SSL_CERT_FILE="+imageCABundle) {
		t.Errorf("%s: Env %q lacks SSL_CERT_FILE=%s", img.ref, img.cfg.Env, imageCABundle)
	}
	b, err := os.ReadFile(filepath.Join(img.root, imageCABundle))
	if err != nil {
		t.Errorf("%s: no CA bundle: %v", img.ref, err)
		return
	}
	n := 0
	for rest := b; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
			t.Errorf("%s: %s: certificate %d: %v", img.ref, imageCABundle, n+1, err)
			return
		}
		n++
	}
	if n < 100 {
		t.Errorf("%s: %s holds %d certificates, want Debian's bundle (100+)", img.ref, imageCABundle, n)
	}
}

// wantBinary checks the image's binary is the release asset scripts/build.sh
// made (the goreleaser pattern: one build, listed in SHA256SUMS).
func wantBinary(t *testing.T, img *builtImage) {
	t.Helper()
	p := filepath.Join(img.root, imageBinary)
	st, err := os.Stat(p)
	if err != nil {
		t.Errorf("%s: %v", img.ref, err)
		return
	}
	if st.Mode().Perm() != 0o755 {
		t.Errorf("%s: %s mode %v, want 0755", img.ref, imageBinary, st.Mode())
	}
	asset := filepath.Join("..", "dist", "amigo-release-linux-"+img.arch)
	if _, err := os.Stat(asset); err != nil {
		t.Errorf("%s: cannot compare with the release asset: %v", img.ref, err)
		return
	}
	if got, want := fileSHA256(t, p), fileSHA256(t, asset); got != want {
		t.Errorf("%s: %s has sha256 %s, dist/amigo-release-linux-%s has %s", img.ref, imageBinary, got, img.arch, want)
	}
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	b := readFile(t, p)
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// exportImage reads an image's config and copies its file system to a
// temporary directory (a container made from it, exported with tar, so the
// image itself is never touched).
func exportImage(t *testing.T, builder, ref string) *builtImage {
	t.Helper()
	img := &builtImage{ref: ref, root: t.TempDir(), hdr: map[string]*tar.Header{}}
	var cfgJSON, arch string
	switch builder {
	case "docker", "podman":
		cfgJSON = mustOutput(t, builder, "image", "inspect", "--format", "{{json .Config}}", ref)
		arch = mustOutput(t, builder, "image", "inspect", "--format", "{{.Architecture}}", ref)
		fmt.Sscan(mustOutput(t, builder, "image", "inspect", "--format", "{{.Size}}", ref), &img.stored)
		id := strings.TrimSpace(mustOutput(t, builder, "create", ref))
		t.Cleanup(func() { exec.Command(builder, "rm", "-f", id).Run() })
		untar(t, img, exec.Command(builder, "export", id))
	case "buildah":
		// buildah's templates have no json function: decode the whole inspection.
		var inspect struct {
			OCIv1 struct {
				Architecture string          `json:"architecture"`
				Config       json.RawMessage `json:"config"`
			}
		}
		if err := json.Unmarshal([]byte(mustOutput(t, "buildah", "inspect", "--type", "image", ref)), &inspect); err != nil {
			t.Fatalf("buildah inspect %s: %v", ref, err)
		}
		cfgJSON, arch = string(inspect.OCIv1.Config), inspect.OCIv1.Architecture
		ctr := strings.TrimSpace(mustOutput(t, "buildah", "from", "--pull=never", "-q", ref))
		t.Cleanup(func() { exec.Command("buildah", "rm", ctr).Run() })
		mnt := strings.TrimSpace(mustOutput(t, "buildah", "mount", ctr))
		untar(t, img, exec.Command("tar", "-C", mnt, "--numeric-owner", "-cf", "-", "."))
		exec.Command("buildah", "umount", ctr).Run()
	}
	if err := json.Unmarshal([]byte(cfgJSON), &img.cfg); err != nil {
		t.Fatalf("%s config: %v\n%s", ref, err, cfgJSON)
	}
	img.arch = strings.TrimSpace(arch)
	return img
}

// untar saves the tar stream src writes, records every entry's header in
// img.hdr (the modes and owners as the image has them, whoever extracts),
// sums the regular files' sizes, and extracts it into img.root (-p keeps the
// modes; as root --numeric-owner keeps the owners).
func untar(t *testing.T, img *builtImage, src *exec.Cmd) {
	t.Helper()
	archive := filepath.Join(t.TempDir(), "image.tar")
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	var srcErr bytes.Buffer
	src.Stdout, src.Stderr = f, &srcErr
	if err := src.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", src, err, srcErr.String())
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	r := tar.NewReader(f)
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		name := path.Clean("/" + h.Name)
		img.hdr[name] = h
		if h.Typeflag == tar.TypeReg {
			img.size += h.Size
		}
	}
	f.Close()
	if out, err := exec.Command("tar", "-xpf", archive, "--numeric-owner", "-C", img.root).CombinedOutput(); err != nil {
		t.Fatalf("tar -x: %v\n%s", err, out)
	}
}

func mustOutput(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	c := exec.Command(name, args...)
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// imageRunner runs a command inside an image as a given user: with the
// builder's container runtime where it works, else with chroot.
type imageRunner struct {
	builder string
	runtime bool // docker/podman run works here
}

func newImageRunner(t *testing.T, builder, probeRef string) *imageRunner {
	t.Helper()
	r := &imageRunner{builder: builder}
	if builder != "buildah" {
		out, err := exec.Command(builder, "run", "--rm", "--network", "host", probeRef, "version").CombinedOutput()
		r.runtime = err == nil
		if !r.runtime {
			t.Logf("%s run does not work here (%v: %s); running the images under chroot", builder, err, lastLine(out))
		}
	}
	if !r.runtime {
		if runtime.GOOS != "linux" || os.Geteuid() != 0 {
			if testsInCI() {
				t.Fatalf("no container runtime works and chroot needs root on Linux (euid %d, %s)", os.Geteuid(), runtime.GOOS)
			}
			t.Skip("no container runtime works and chroot needs root on Linux")
		}
		needTool(t, "unshare")
		needTool(t, "chroot")
	}
	return r
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// wantRuns runs `amigo-release version` and `amigo-release demo` in the
// image as user (empty: the image's own user) and checks they work.
func (r *imageRunner) wantRuns(t *testing.T, img *builtImage, user string) {
	t.Helper()
	who := user
	if who == "" {
		who = "the image's user"
	}
	out, err := r.run(t, img, user, imageBinary, "version")
	if err != nil {
		t.Errorf("%s as %s: amigo-release version: %v\n%s", img.ref, who, err, out)
		return
	}
	if v := img.cfg.Labels["org.opencontainers.image.version"]; v != "" && !strings.Contains(out, v) {
		t.Errorf("%s as %s: version says %q, the image label says %s", img.ref, who, out, v)
	}
	out, err = r.run(t, img, user, imageBinary, "demo")
	if err != nil {
		t.Errorf("%s as %s: amigo-release demo: %v\n%s", img.ref, who, err, out)
		return
	}
	wantContains(t, img.ref+" demo as "+who, out, "Demo done in", "JSON report")
}

func (r *imageRunner) run(t *testing.T, img *builtImage, user string, argv ...string) (string, error) {
	t.Helper()
	var c *exec.Cmd
	if r.runtime {
		args := []string{"run", "--rm", "--network", "host", "--entrypoint", argv[0]}
		if user != "" {
			args = append(args, "--user", user)
		}
		c = exec.Command(r.builder, append(append(args, img.ref), argv[1:]...)...)
	} else {
		// The container a runtime would make: the image's Env, HOME=/, fresh
		// /proc, the host's /dev, in namespaces that take the mounts away
		// when the command ends.
		if user == "" {
			user = img.cfg.User
		}
		if user == "" {
			user = "0"
		}
		if !strings.Contains(user, ":") {
			user += ":" + user
		}
		for _, d := range []string{"proc", "dev"} {
			if err := os.MkdirAll(filepath.Join(img.root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		chroot, _ := exec.LookPath("chroot")
		script := `mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" && exec "$@"`
		inner := append([]string{"env", "-i", "HOME=/"}, img.cfg.Env...)
		inner = append(inner, chroot, "--userspec="+user, img.root)
		c = exec.Command("unshare", append([]string{"--mount", "--pid", "--fork", "sh", "-c", script, img.root}, append(inner, argv...)...)...)
	}
	out, err := c.CombinedOutput()
	return string(out), err
}
