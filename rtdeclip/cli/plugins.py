"""``rtdeclip plugins``: where the LADSPA and LV2 plug-ins are;
``rtdeclip plugins --list`` what they are; ``rtdeclip plugins install
[--system]`` copies them where hosts look."""
from rtdeclip import plugins


def register(sub):
    p = sub.add_parser("plugins", help="show (or install) the LADSPA and LV2 plug-ins",
                       description="Print the folders holding the LADSPA library and the LV2 "
                                   "bundle (use them as LADSPA_PATH / LV2_PATH), or copy them "
                                   "to ~/.ladspa and ~/.lv2 with 'install'.")
    p.add_argument("action", nargs="?", choices=["install"], help="copy the plug-ins")
    p.add_argument("--system", action="store_true",
                   help="install into /usr/local/lib/ladspa and /usr/local/lib/lv2 instead")
    p.add_argument("--list", action="store_true",
                   help="list the plug-ins: LADSPA label, LV2 URI, what each is for")
    p.set_defaults(func=run)


def run(args):
    plugins.check_built()
    if args.action == "install":
        where = plugins.install(system=args.system)
        print(f"installed ladspa: {where['ladspa']}")
        print(f"installed lv2: {where['lv2']}")
        return 0
    if args.list:
        width = max(map(len, plugins.LADSPA_LABELS.values()))
        uwidth = max(map(len, plugins.LV2_URIS.values()))
        for v, label in plugins.LADSPA_LABELS.items():
            print(f"{label:<{width}}  {plugins.LV2_URIS[v]:<{uwidth}}  {plugins.PURPOSE[v]}")
        return 0
    print(f"ladspa: {plugins.ladspa_dir()}")
    print(f"lv2: {plugins.lv2_dir()}")
    return 0
