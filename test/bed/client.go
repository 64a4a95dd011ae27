package bed

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ringmetrics/ringmetrics/test/cluster"
)

// The metrics API as the harnesses request it, from a metrics server
// directly or through the kube-apiserver's aggregator.
const (
	GroupVersionPath = "/apis/metrics.k8s.io/v1beta1"
	MediaJSON        = "application/json"
	MediaProtobuf    = "application/vnd.kubernetes.protobuf"
)

// DirectClient talks to an aggregated server's own port, bypassing the
// aggregator, with a client certificate from the cluster CA, which the
// server's delegated authentication accepts. An empty user sends no
// certificate (anonymous).
func DirectClient(c *cluster.Cluster, user string, groups ...string) (*http.Client, error) {
	cfg := &tls.Config{InsecureSkipVerify: true} // the servers' certificates are self-signed
	if user != "" {
		certPEM, keyPEM, err := c.IssueClientCert(user, groups...)
		if err != nil {
			return nil, err
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}, nil
}

// AdminClient is a DirectClient as a cluster-admin.
func AdminClient(c *cluster.Cluster) (*http.Client, error) {
	return DirectClient(c, "bed-admin", "system:masters")
}

// GetJSON fetches url and decodes a 200 answer into v (when v is not nil).
// It returns the status code; a transport or decoding failure is an error.
func GetJSON(client *http.Client, url string, v any) (int, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			return resp.StatusCode, fmt.Errorf("GET %s: decoding %.200q: %w", url, body, err)
		}
	}
	return resp.StatusCode, nil
}

// GetText fetches url and returns its body and status code.
func GetText(client *http.Client, url string) (string, int, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), resp.StatusCode, err
}

// MetricValue reads one series from a server's Prometheus /metrics page
// (see ParseMetric).
func MetricValue(client *http.Client, serverURL, name, labels string) (float64, error) {
	body, code, err := GetText(client, serverURL+"/metrics")
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("GET %s/metrics: status %d", serverURL, code)
	}
	v, err := ParseMetric(body, name, labels)
	if err != nil {
		return 0, fmt.Errorf("%s/metrics: %w", serverURL, err)
	}
	return v, nil
}

// ParseMetric returns the value of one series in Prometheus text
// exposition format: name with labels exactly as exposed (`a{b="c"}`), or
// name alone for an unlabelled series. A timestamp after the value is
// ignored.
func ParseMetric(text, name, labels string) (float64, error) {
	series := name
	if labels != "" {
		series += "{" + labels + "}"
	}
	for line := range strings.SplitSeq(text, "\n") {
		rest, ok := strings.CutPrefix(line, series)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, fmt.Errorf("series %s has no value", series)
		}
		return strconv.ParseFloat(fields[0], 64)
	}
	return 0, fmt.Errorf("no series %s", series)
}
