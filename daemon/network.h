/* uk networks: Linux bridges with one tap per instance NIC, ukd's IPAM, DNS, published ports. */
#ifndef UKD_NETWORK_H
#define UKD_NETWORK_H

#include <json-c/json.h>
#include <stdint.h>

#include "ports.h"
#include "spec.h"
#include "ukd.h"
#include "vm.h"

/*
 * Contract (docs/networking.md). A network is a row in the store (networks) and, while ukd
 * runs, a bridge "uk-<id12>" holding the gateway address, DNS on GATEWAY:53 (UDP and TCP,
 * net_dns_server.h)
 * and rules in the one nftables table this ukd owns ("ip uk_HASH", ukd_net_table_name()). An
 * instance on a network has an
 * endpoint row (address, MAC, tap name, aliases) from create to removal; while it runs, a tap
 * "uk<id12><n>" owned by QEMU's user on the bridge and, for each published port (TCP or UDP),
 * a listener of ukd's proxy (proxy.h; TCP with a real backlog). Every link ukd makes carries
 * the alias "ukd:ROOT": nothing else is ever touched.
 */

struct ukd_nets;

/* Starts the subsystem: rebuilds bridges and the nftables table from the store, removes the
 * links of ours nothing needs, keeps the taps of instances the store says run (live restore)
 * and restarts their proxies. Call after the supervisor reconciled the instances. A host
 * without the privilege (CAP_NET_ADMIN) still starts: network operations then fail with 503. */
int ukd_net_start(struct ukd *d, uk_err_t *err);
/* Stops DNS and the proxies; bridges and taps stay (guests may outlive ukd). */
void ukd_net_stop(struct ukd *d);

/* The network operations behind /v1/networks. (body) keys: name, subnet, gateway, internal,
 * outbound. 400 bad input, 409 name/subnet taken, 503 no privilege. */
json_object *ukd_net_create(struct ukd *d, json_object *body, uk_err_t *err);
json_object *ukd_net_list(struct ukd *d, uk_err_t *err);
json_object *ukd_net_inspect(struct ukd *d, const char *key, uk_err_t *err);
/* 409 naming the instances while any instance is on it. */
int ukd_net_remove(struct ukd *d, const char *key, uk_err_t *err);
/* Removes every network no instance is on; returns the names removed. */
json_object *ukd_net_prune(struct ukd *d, uk_err_t *err);

struct ukd_instance;

/* POST /v1/networks/{key}/connect, (body) {"instance", "aliases", "ip"}: a created or stopped
 * instance joins the network as its next NIC (its spec and endpoint change in one transaction;
 * DNS answers its names there from its next start). 400 bad body, 404 unknown network or
 * instance, 409 the instance runs (no NIC hot-plug), is already on that network or on
 * UKD_NETS_MAX, its address or an alias is taken. */
int ukd_net_connect(struct ukd *d, const char *key, json_object *body, uk_err_t *err);
/* POST /v1/networks/{key}/disconnect, (body) {"instance"}: it leaves the network (its other
 * NICs keep their order); off its last one it is back in the default mode (UKD_NET_DEFAULT).
 * 409 running or not on that network. */
int ukd_net_disconnect(struct ukd *d, const char *key, json_object *body, uk_err_t *err);

/* Instance create, before its row is stored: checks the networks its spec joins exist and
 * reserves an endpoint (address, NIC number, MAC, aliases) on each, all or none; 404 unknown
 * network, 409 address taken, 400 address outside it. Not on a network: 0. */
int ukd_net_attach(struct ukd *d, const struct ukd_instance *in, uk_err_t *err);
/* inspect's "network" of an instance on uk networks: the first network's {network, ip_address,
 * prefix_length, gateway, mac_address, aliases} and "networks": that object for each network,
 * in NIC order; NULL if it is on none. */
json_object *ukd_net_endpoint_json(struct ukd *d, const struct ukd_instance *in);
/* Instance removal: drops its endpoints and taps. */
void ukd_net_detach(struct ukd *d, const char *instance_id);

/* What a start gives the guest on its networks: a NIC per network (the spec's order) and the
 * environment: UK_IP, UK_GW, UK_MAC, UK_DNS for the first, UK_IPk, UK_GWk and UK_MACk for NIC
 * k > 0 (the guest finds each NIC by its MAC, whatever order the bus probes them in). */
struct ukd_net_guest {
	struct ukd_nic nics[UKD_NETS_MAX];
	int n_nics;
	char env[3 * UKD_NETS_MAX + 1][48];
	int n_env;
	char ip[16]; /* its address on the first (what a health check probes) */
};

/* Start: makes the instance's tap (kind UKD_NIC_TAP; UKD_NIC_BRIDGE: only the bridge, the
 * hypervisor adds its own port, Xen's vif), fills (out), and starts a proxy for each of (spec)'s
 * published ports (TCP and UDP, proxy.h). A spec not on a network: 0 with out->n_nics = 0. */
int ukd_net_prepare(struct ukd *d, const struct ukd_instance *in, enum ukd_nic_kind kind,
                    struct ukd_net_guest *out, uk_err_t *err);
/* Stop/exit: stops the instance's proxies and removes its taps (idempotent). */
void ukd_net_release(struct ukd *d, const char *instance_id);

/* Pure helpers (exposed for tests and fuzzers). */
/* 1 if (name) is [a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}. */
int ukd_net_name_valid(const char *name);
/* Parses "A.B.C.D/P" (P 8..30, host bits zero); -1 with a 400 otherwise. */
int ukd_net_cidr_parse(const char *s, uint32_t *net, int *prefix, uk_err_t *err);
/* The nftables table of the ukd with root directory (root): "uk_" + 8 hex digits of its hash,
 * so that two ukds in one network namespace never replace each other's rules. */
void ukd_net_table_name(const char *root, char out[16]);
/* 1 if [a, a+2^(32-pa)) and [b, ...) overlap. */
int ukd_net_overlap(uint32_t a, int pa, uint32_t b, int pb);

#endif
