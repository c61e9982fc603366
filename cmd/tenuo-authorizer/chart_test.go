package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// The Helm chart (deploy/helm/tenuo-authorizer) is rendered and linted by
// Helm itself: the CLI at the version deploy/helm/tool pins (its go.mod's
// tool line and go.sum), built from the Go module proxy. scripts/test
// builds it once and names it in $TENUO_HELM; without that, the first test
// that needs it builds it (the Go build cache makes later builds a link).

const chartDir = "../../deploy/helm/tenuo-authorizer"

var helm struct {
	dir  string // TestMain's, removed when the tests end
	once sync.Once
	path string
	err  error
}

func helmBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TENUO_HELM"); p != "" {
		return p
	}
	helm.once.Do(func() {
		helm.path = filepath.Join(helm.dir, "helm")
		cmd := exec.Command("go", "build", "-o", helm.path, "helm.sh/helm/v3/cmd/helm")
		cmd.Dir = "../../deploy/helm/tool"
		if out, err := cmd.CombinedOutput(); err != nil {
			helm.err = fmt.Errorf("building the pinned Helm CLI: %v\n%s", err, out)
		}
	})
	if helm.err != nil {
		t.Fatal(helm.err)
	}
	return helm.path
}

// runHelm runs the Helm CLI with args, in homes of the test's own, and
// returns its standard output.
func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(helmBinary(t), args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home+"/cache", "HELM_CONFIG_HOME="+home+"/config",
		"HELM_DATA_HOME="+home+"/data", "KUBECONFIG="+home+"/kubeconfig")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// object is one rendered Kubernetes object.
type object map[string]any

func (o object) kind() string { s, _ := o["kind"].(string); return s }
func (o object) name() string { s, _ := o.get("metadata", "name").(string); return s }

// get walks o's maps along keys (nil where one is missing).
func (o object) get(keys ...string) any {
	var v any = o
	for _, k := range keys {
		m := asMap(v)
		if m == nil {
			return nil
		}
		v = m[k]
	}
	return v
}

// asMap is v as a map, nil if it is not one (the YAML decoder gives nested
// maps the type of the outermost).
func asMap(v any) object {
	switch m := v.(type) {
	case object:
		return m
	case map[string]any:
		return m
	}
	return nil
}

// render renders the chart as release "tnu" with the fixture's gateway.yaml
// as config and sets (key=value) set, parses every document strictly and
// checks what every object needs: apiVersion, kind, a name unique for its
// kind, the chart's labels.
func render(t *testing.T, config string, set ...string) []object {
	t.Helper()
	args := []string{"template", "tnu", chartDir, "--set-file", "config=" + config}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := runHelm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	var objs []object
	seen := map[string]bool{}
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var o object
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("rendered chart: %v\n%s", err, out)
		}
		if o == nil {
			continue // an empty document
		}
		key := o.kind() + "/" + o.name()
		switch {
		case o["apiVersion"] == nil || o.kind() == "" || o.name() == "":
			t.Errorf("an object without apiVersion, kind or metadata.name: %v", o)
		case seen[key]:
			t.Errorf("%s rendered twice", key)
		case o.get("metadata", "labels", "app.kubernetes.io/instance") != "tnu":
			t.Errorf("%s: no app.kubernetes.io/instance label", key)
		}
		seen[key] = true
		objs = append(objs, o)
	}
	return objs
}

func find(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	for _, o := range objs {
		if o.kind() == kind && o.name() == name {
			return o
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
	return nil
}

func kinds(objs []object) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, o.kind()+"/"+o.name())
	}
	slices.Sort(ks)
	return ks
}

// container is the named container of a Deployment's pod.
func container(t *testing.T, d object, name string) object {
	t.Helper()
	cs, _ := d.get("spec", "template", "spec", "containers").([]any)
	for _, c := range cs {
		if m := asMap(c); m["name"] == name {
			return m
		}
	}
	t.Fatalf("Deployment %s has no container %s", d.name(), name)
	return nil
}

func strs(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// selects reports whether every key of selector has its value in labels.
func selects(selector, labels any) bool {
	s, l := asMap(selector), asMap(labels)
	if len(s) == 0 {
		return false
	}
	for k, v := range s {
		if l[k] != v {
			return false
		}
	}
	return true
}

// checkWiring checks that the objects hang together as Kubernetes would
// join them: each Deployment's selector takes its own pods and no other
// Deployment's; each Service selects the pods of exactly one Deployment,
// and its target ports are ports those pods name; probes use named ports;
// the config volume is the rendered ConfigMap, and its gateway.yaml loads
// as the service loads it.
func checkWiring(t *testing.T, objs []object) {
	t.Helper()
	var deps []object
	for _, o := range objs {
		if o.kind() == "Deployment" {
			deps = append(deps, o)
		}
	}
	for _, d := range deps {
		for _, other := range deps {
			takes := selects(d.get("spec", "selector", "matchLabels"), other.get("spec", "template", "metadata", "labels"))
			if takes != (d.name() == other.name()) {
				t.Errorf("Deployment %s's selector takes Deployment %s's pods: %v", d.name(), other.name(), takes)
			}
		}
	}
	for _, svc := range objs {
		if svc.kind() != "Service" {
			continue
		}
		var picked []object
		for _, d := range deps {
			if selects(svc.get("spec", "selector"), d.get("spec", "template", "metadata", "labels")) {
				picked = append(picked, d)
			}
		}
		if len(picked) != 1 {
			t.Errorf("Service %s selects the pods of %d Deployments", svc.name(), len(picked))
			continue
		}
		named := map[any]bool{}
		cs, _ := picked[0].get("spec", "template", "spec", "containers").([]any)
		for _, c := range cs {
			ports, _ := asMap(c)["ports"].([]any)
			for _, p := range ports {
				named[asMap(p)["name"]] = true
			}
			for _, probe := range []string{"readinessProbe", "livenessProbe"} {
				if port := asMap(c).get(probe, "httpGet", "port"); port != nil && !named[port] {
					t.Errorf("%s %s: port %v is not a port of the container", picked[0].name(), probe, port)
				}
			}
		}
		ports, _ := svc.get("spec", "ports").([]any)
		for _, p := range ports {
			if tp := asMap(p)["targetPort"]; !named[tp] {
				t.Errorf("Service %s: targetPort %v is not a port of %s's pods", svc.name(), tp, picked[0].name())
			}
		}
	}
	d := find(t, objs, "Deployment", "tnu")
	vols, _ := d.get("spec", "template", "spec", "volumes").([]any)
	if len(vols) != 1 || asMap(vols[0]).get("configMap", "name") != "tnu-config" {
		t.Errorf("the config volume is not the ConfigMap tnu-config: %v", vols)
	}
	cfg, _ := find(t, objs, "ConfigMap", "tnu-config").get("data", "gateway.yaml").(string)
	if _, err := toolmap.Parse([]byte(cfg), "gateway.yaml"); err != nil {
		t.Errorf("the ConfigMap's gateway.yaml: %v", err)
	}
}

// runRendered starts tenuo-authorizer with the rendered container's args,
// as its pod would: the ConfigMap's gateway.yaml at the path --config
// names, and every listener on 127.0.0.1 (the chart's ":port" binds all
// interfaces). It returns the addresses the servers listen on.
func runRendered(t *testing.T, objs []object, want int) map[string]string {
	t.Helper()
	c := container(t, find(t, objs, "Deployment", "tnu"), "tenuo-authorizer")
	cfgFile := filepath.Join(t.TempDir(), "gateway.yaml")
	cfg, _ := find(t, objs, "ConfigMap", "tnu-config").get("data", "gateway.yaml").(string)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ports := map[string]string{}
	cports, _ := c["ports"].([]any)
	for _, p := range cports {
		m := asMap(p)
		ports[m["name"].(string)] = fmt.Sprint(m["containerPort"])
	}
	var args []string
	for _, a := range strs(c["args"]) {
		flag, val, _ := strings.Cut(a, "=")
		switch flag {
		case "--config":
			if val != "/etc/tenuo/gateway.yaml" {
				t.Fatalf("--config=%s, not the file the config volume mounts", val)
			}
			a = "--config=" + cfgFile
		case "--grpc", "--http", "--admin", "--listen":
			name := map[string]string{"--grpc": "grpc", "--http": "http", "--admin": "admin", "--listen": "http"}[flag]
			if val != ":"+ports[name] {
				t.Fatalf("%s: the container's %s port is %s", a, name, ports[name])
			}
			a = flag + "=127.0.0.1:0"
		}
		args = append(args, a)
	}
	addrs, _ := start(t, want, append(args, "--audit-log", filepath.Join(t.TempDir(), "audit.jsonl"))...)
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + addrs["admin"] + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("admin %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	return addrs
}

// TestHelmChart renders the chart with Helm in both modes and with each way
// of replay protection, checks the objects and how they join, and runs the
// rendered commands: the gateway's replicas share the Redis the chart
// names, and the sidecar forwards only what the warrant allows.
func TestHelmChart(t *testing.T) {
	f := gatewaytest.New(t)
	config := writeConfig(t, f)
	const sidecarApp = "sidecar.app.image=example.org/tool-service:1.0"

	for _, mode := range [][]string{{}, {"mode=sidecar", sidecarApp}} {
		if _, err := runHelm(t, append([]string{"lint", "--strict", chartDir, "--set-file", "config=" + config}, setArgs(mode)...)...); err != nil {
			t.Errorf("lint %v: %v", mode, err)
		}
	}
	for want, set := range map[string][]string{
		"config is required":              {"config="},
		"mode must be gateway or sidecar": {"mode=gatway"},
		"sidecar.app.image is required":   {"mode=sidecar"},
	} {
		args := append([]string{"template", "tnu", chartDir}, setArgs(set)...)
		if set[0] != "config=" {
			args = append(args, "--set-file", "config="+config)
		}
		if _, err := runHelm(t, args...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("helm template --set %v: %v, want it refused: %s", set, err, want)
		}
	}

	t.Run("gateway", func(t *testing.T) {
		objs := render(t, config)
		if got, want := kinds(objs), []string{"ConfigMap/tnu-config", "Deployment/tnu", "Deployment/tnu-redis",
			"Service/tnu", "Service/tnu-admin", "Service/tnu-redis"}; !slices.Equal(got, want) {
			t.Fatalf("rendered %v, want %v", got, want)
		}
		checkWiring(t, objs)
		d := find(t, objs, "Deployment", "tnu")
		if r := d.get("spec", "replicas"); r != 3 {
			t.Errorf("replicas: %v", r)
		}
		args := strs(container(t, d, "tenuo-authorizer")["args"])
		if !slices.Contains(args, "--replay-store=redis://tnu-redis:6379/0") {
			t.Errorf("the replicas do not share the chart's Redis: %v", args)
		}
		ports, _ := find(t, objs, "Service", "tnu").get("spec", "ports").([]any)
		for _, p := range ports {
			if asMap(p)["targetPort"] == "admin" {
				t.Error("the decision Service exposes the admin port")
			}
		}
	})

	t.Run("gateway with the operator's Redis", func(t *testing.T) {
		srv := gatewaytest.StartRedis(t)
		objs := render(t, config, "redis.url="+srv.URL)
		if got := kinds(objs); slices.Contains(got, "Deployment/tnu-redis") || slices.Contains(got, "Service/tnu-redis") {
			t.Fatalf("a Redis deployed although redis.url is set: %v", got)
		}
		checkWiring(t, objs)
		// Two replicas, as the Deployment's pods would run, over that Redis:
		// a PoP used at one is refused at the other.
		c := gatewaytest.Cases()[0]
		var bases []string
		for range 2 {
			bases = append(bases, "http://"+runRendered(t, objs, 3)["http"])
		}
		if resp := send(t, f, bases[0], c); resp.StatusCode != 200 {
			t.Fatalf("replica 1: %d", resp.StatusCode)
		}
		if resp := send(t, f, bases[1], c); resp.StatusCode != 401 {
			t.Fatalf("the PoP replayed at replica 2: %d, want 401", resp.StatusCode)
		}
	})

	t.Run("gateway without replay protection", func(t *testing.T) {
		objs := render(t, config, "redis.enabled=false", "replicas=1")
		checkWiring(t, objs)
		for _, a := range strs(container(t, find(t, objs, "Deployment", "tnu"), "tenuo-authorizer")["args"]) {
			if strings.HasPrefix(a, "--replay") {
				t.Errorf("%s with redis.enabled=false", a)
			}
		}
	})

	t.Run("sidecar", func(t *testing.T) {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Warrant-Seen", r.Header.Get("X-Tenuo-Warrant-Id"))
		}))
		defer up.Close()
		objs := render(t, config, "mode=sidecar", sidecarApp, "sidecar.upstream="+up.URL, "redis.enabled=false", "replicas=1",
			"extraArgs[0]=--max-body=256") // the cap the table's oversized case is over
		if got, want := kinds(objs), []string{"ConfigMap/tnu-config", "Deployment/tnu", "Service/tnu", "Service/tnu-admin"}; !slices.Equal(got, want) {
			t.Fatalf("rendered %v, want %v", got, want)
		}
		checkWiring(t, objs)
		d := find(t, objs, "Deployment", "tnu")
		if img := container(t, d, "tool-service")["image"]; img != "example.org/tool-service:1.0" {
			t.Errorf("the tool service's container runs %v", img)
		}
		base := "http://" + runRendered(t, objs, 2)["sidecar"]
		for _, c := range gatewaytest.Cases() {
			if resp := send(t, f, base, c); resp.StatusCode != c.Status {
				t.Errorf("%s: %d, want %d", c.Name, resp.StatusCode, c.Status)
			} else if c.Status == 200 && resp.Header.Get("X-Warrant-Seen") != f.Agents.Leaf().ID.String() {
				t.Errorf("%s: the upstream saw warrant id %q", c.Name, resp.Header.Get("X-Warrant-Seen"))
			}
		}
	})
}

func setArgs(set []string) []string {
	var args []string
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return args
}
