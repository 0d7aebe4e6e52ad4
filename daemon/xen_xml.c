/* What ukd reads back from a Xen domain's XML as libvirt formats it: its disks' target names. */
#include "xen_xml.h"

#include <ctype.h>
#include <string.h>

int ukd_xen_xml_disk_targets(const char *xml, char (*out)[UKD_XEN_TARGET_MAX], int max)
{
	static const char tag[] = "<target dev=";
	int n = 0;

	for (const char *p = strstr(xml, "<disk "); p && n < max; p = strstr(p, "<disk ")) {
		const char *end = strstr(p, "</disk>"), *t = strstr(p, tag);
		size_t len = 0;

		if (!end)
			break; /* cut short */
		if (t && t < end && (t[sizeof(tag) - 1] == '\'' || t[sizeof(tag) - 1] == '"')) {
			t += sizeof(tag) - 1;
			while (isalnum((unsigned char)t[1 + len]) && len + 1 < UKD_XEN_TARGET_MAX)
				len++;
			if (len && t[1 + len] == *t) {
				memcpy(out[n], t + 1, len);
				out[n++][len] = 0;
			}
		}
		p = end + strlen("</disk>");
	}
	return n;
}
