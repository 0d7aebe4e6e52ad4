/* What ukd reads back from a Xen domain's XML as libvirt formats it: its disks' target names. */
#ifndef UKD_XEN_XML_H
#define UKD_XEN_XML_H

#define UKD_XEN_TARGET_MAX 16 /* a disk target's name ("xvda") with its NUL, at most */

/*
 * The target names ("xvda", "xvdb", ...) of the <disk> elements in domain XML (xml), in order,
 * into (out), at most (max) of them; returns how many. A target that is not a plain name
 * (letters and digits, shorter than UKD_XEN_TARGET_MAX) is skipped.
 */
int ukd_xen_xml_disk_targets(const char *xml, char (*out)[UKD_XEN_TARGET_MAX], int max);

#endif
